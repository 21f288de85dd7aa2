import Foundation
import JSONValue
import KubeClient
import Logging
import RouteletAPI
import Synchronization

/// RouteTables, GatewayRoutes, the Services and EndpointSlices their
/// backends name and the TLS Secrets of HTTPS listeners from the Kubernetes API (list + watch), and this node's
/// labels from its Node object. Objects the agent finds invalid (it never
/// trusts its input, even after the API server validated it) are reported
/// and leave the last valid version in place, as with manifests.
public final class KubernetesObjectSource: ObjectSource {
    let client: KubeClient
    let nodeName: String
    let logger: Logger

    /// The watched kinds besides the Node.
    /// Secrets: only those of type kubernetes.io/tls, which HTTPS listeners name.
    static let watched: [(resource: KubeResource, kind: String, fieldSelector: String?)] = [
        (.routeTables, RouteTable.kind, nil), (.gatewayRoutes, GatewayRoute.kind, nil),
        (.services, KubernetesService.kind, nil), (.endpointSlices, EndpointSlice.kind, nil),
        (.secrets, KubernetesSecret.kind, "type=\(KubernetesSecret.tlsType)"),
    ]

    private struct State {
        var objects: [ObjectID: SourceObject] = [:]
        var problems: [ObjectID: String] = [:]
        var nodeLabels: [String: String]?
        var synced: Set<String> = []
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
            for (resource, kind, fieldSelector) in Self.watched {
                group.addTask { [self] in
                    for try await change in client.changes(of: resource, fieldSelector: fieldSelector) {
                        apply(change, kind: kind, namespaced: resource.namespaced)
                        changed()
                    }
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
                objects: state.objects.sorted { $0.key < $1.key }.map(\.value),
                nodeLabels: state.nodeLabels ?? [:], synced: state.synced.count == Self.watched.count && state.nodeSynced,
                problems: state.problems.keys.sorted().map { state.problems[$0]! })
        }
    }

    private func apply(_ change: ResourceChange, kind: String, namespaced: Bool) {
        func id(_ object: JSONValue) -> ObjectID? {
            object.metadata("name").map { ObjectID(kind: kind, namespace: namespaced ? object.metadata("namespace") ?? "default" : "", name: $0) }
        }
        state.withLock { state in
            switch change {
            case .added(let object), .modified(let object):
                guard let id = id(object) else { return }
                switch SourceObject.decode(kind: kind, from: object) {
                case .success(let decoded):
                    state.objects[id] = decoded
                    state.problems[id] = nil
                case .failure(let invalid):
                    let first = invalid.problems.first.map { "\($0.path): \($0.message)" } ?? "invalid"
                    state.problems[id] = "\(id): \(first)"
                }
            case .deleted(let object):
                guard let id = id(object) else { return }
                state.objects[id] = nil
                state.problems[id] = nil
            case .synced:
                state.synced.insert(kind)
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
