import Foundation
import RouteletAPI
import Synchronization

/// What a source of RouteTables knows at one moment.
public struct SourceSnapshot: Sendable {
    /// The valid tables to program (an invalid edit keeps the last valid version).
    public var tables: [RouteTable]
    /// This node's labels when the source knows them (from its Node object);
    /// nil: the agent's `--node-labels`.
    public var nodeLabels: [String: String]?
    /// Whether every part of the source has been read in full at least once.
    /// Until then the agent adds and changes but removes nothing: a partial
    /// view must not delete routes that are still wanted.
    public var synced: Bool
    /// Input the agent refused (invalid objects, unreadable files), one line each.
    public var problems: [String]

    public init(tables: [RouteTable], nodeLabels: [String: String]? = nil, synced: Bool, problems: [String] = []) {
        self.tables = tables
        self.nodeLabels = nodeLabels
        self.synced = synced
        self.problems = problems
    }
}

/// Where the agent's RouteTables come from: a manifest directory, or the
/// Kubernetes API. Both feed the same loop.
public protocol TableSource: Sendable {
    /// Follows the input until cancelled, calling `changed` whenever the
    /// tables or the node's labels may have changed.
    func watch(changed: @escaping @Sendable () -> Void) async throws
    /// The tables now. `reread` is false on passes caused by link changes,
    /// so that a source may skip an expensive re-read (a failover must not
    /// wait for a parse of every manifest).
    func snapshot(reread: Bool) throws -> SourceSnapshot
}

/// RouteTables from `*.yaml`, `*.yml` and `*.json` files of a directory,
/// polled for changes (names, sizes, mtimes).
public final class ManifestTableSource: TableSource {
    public let directory: String
    public let pollInterval: Duration
    private let store = Mutex<TableStore?>(nil)

    public init(directory: String, pollInterval: Duration = .milliseconds(500)) {
        self.directory = directory
        self.pollInterval = pollInterval
    }

    public func watch(changed: @escaping @Sendable () -> Void) async throws {
        var last = ManifestDirectory.fingerprint(of: directory)
        while !Task.isCancelled {
            try await Task.sleep(for: pollInterval)
            let now = ManifestDirectory.fingerprint(of: directory)
            if now != last {
                last = now
                changed()
            }
        }
    }

    public func snapshot(reread: Bool) throws -> SourceSnapshot {
        let cached = store.withLock { $0 }
        var current = cached ?? TableStore()
        if reread || cached == nil {
            current.update(with: try ManifestDirectory.scan(directory))
            store.withLock { $0 = current }
        }
        // A directory is read whole, so the first read is a full sync.
        return SourceSnapshot(tables: current.tables, synced: true, problems: current.errors.map(\.description))
    }
}
