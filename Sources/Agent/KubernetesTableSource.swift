import Foundation
import JSONValue
import KubeClient
import Logging
import RouteletAPI
import Synchronization

/// RouteTables from the Kubernetes API (list + watch), and this node's
/// labels from its Node object. Objects the agent finds invalid (it never
/// trusts its input, even after the API server validated it) are reported
/// and leave the last valid version in place, as with manifests.
public final class KubernetesTableSource: TableSource {
    let client: KubeClient
    let nodeName: String
    let logger: Logger

    private struct State {
        var tables: [String: RouteTable] = [:]
        var problems: [String: String] = [:]
        var nodeLabels: [String: String]?
        var tablesSynced = false
        var nodeSynced = false
    }

    private let state = Mutex(State())

    public init(client: KubeClient, nodeName: String, logger: Logger) {
        self.client = client
        self.nodeName = nodeName
        self.logger = logger
    }

    public func watch(changed: @escaping @Sendable () -> Void) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { [self] in
                for try await change in client.changes(of: .routeTables) {
                    apply(tableChange: change)
                    changed()
                }
            }
            group.addTask { [self] in
                for try await change in client.changes(of: .nodes, fieldSelector: "metadata.name=\(nodeName)") {
                    apply(nodeChange: change)
                    changed()
                }
            }
        }
    }

    public func snapshot(reread: Bool) throws -> SourceSnapshot {
        state.withLock { state in
            SourceSnapshot(
                tables: state.tables.values.sorted { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") },
                nodeLabels: state.nodeLabels ?? [:], synced: state.tablesSynced && state.nodeSynced,
                problems: state.problems.keys.sorted().map { state.problems[$0]! })
        }
    }

    private func apply(tableChange change: ResourceChange) {
        state.withLock { state in
            switch change {
            case .added(let object), .modified(let object):
                guard let name = object.metadata("name") else { return }
                do throws(ResourceDecodingError) {
                    let table = try RouteTable.decode(from: object)
                    if let problem = table.validate().first {
                        state.problems[name] = "RouteTable \(name): \(problem.path): \(problem.message)"
                    } else {
                        state.tables[name] = table
                        state.problems[name] = nil
                    }
                } catch {
                    state.problems[name] = "RouteTable \(name): \(error.path): \(error.message)"
                }
            case .deleted(let object):
                guard let name = object.metadata("name") else { return }
                state.tables[name] = nil
                state.problems[name] = nil
            case .synced:
                state.tablesSynced = true
            }
        }
    }

    private func apply(nodeChange change: ResourceChange) {
        state.withLock { state in
            switch change {
            case .added(let object), .modified(let object):
                state.nodeLabels = object.labels
            case .deleted:
                state.nodeLabels = nil
            case .synced:
                state.nodeSynced = true
            }
        }
        if state.withLock({ $0.nodeSynced && $0.nodeLabels == nil }) {
            logger.warning("this node has no Node object; tables with a nodeSelector will not select it", metadata: ["node": "\(nodeName)"])
        }
    }
}
