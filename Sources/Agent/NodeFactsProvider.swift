import Reconciler

/// Where compile's node facts come from: a full read, and a stream that
/// says "look again" whenever links or addresses change.
public protocol NodeFactsProvider: Sendable {
    func read() throws -> NodeFacts
    func changes() -> AsyncStream<Void>
}
