/// The spec of a RouteletNode: empty, because nobody asks a node for
/// anything through it; everything it says is in the status.
public struct RouteletNodeSpec: Codable, Hashable, Sendable {
    public init() {}
}
