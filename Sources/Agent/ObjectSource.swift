import Foundation
import Reconciler
import RouteletAPI
import Synchronization

/// What a source knows at one moment: every kind the agent programs from.
public struct SourceSnapshot: Sendable {
    /// The valid tables to program (an invalid edit keeps the last valid version).
    public var tables: [RouteTable]
    /// The valid GatewayRoutes, and the Services and EndpointSlices their backends name.
    public var gatewayRoutes: [GatewayRoute]
    public var endpoints: EndpointIndex
    /// This node's labels when the source knows them (from its Node object);
    /// nil: the agent's `--node-labels`.
    public var nodeLabels: [String: String]?
    /// Whether every part of the source has been read in full at least once.
    /// Until then the agent adds and changes but removes nothing: a partial
    /// view must not delete routes that are still wanted.
    public var synced: Bool
    /// Input the agent refused (invalid objects, unreadable files), one line each.
    public var problems: [String]

    public init(tables: [RouteTable], gatewayRoutes: [GatewayRoute] = [], endpoints: EndpointIndex = EndpointIndex(),
                nodeLabels: [String: String]? = nil, synced: Bool, problems: [String] = []) {
        self.tables = tables
        self.gatewayRoutes = gatewayRoutes
        self.endpoints = endpoints
        self.nodeLabels = nodeLabels
        self.synced = synced
        self.problems = problems
    }
}

extension SourceSnapshot {
    /// The uid of each table and route, by ``EventBuilder/Object/key``.
    var uids: [String: String] {
        var uids: [String: String] = [:]
        for table in tables {
            uids[EventBuilder.Object.key(kind: RouteTable.kind, namespace: nil, name: table.metadata.name ?? "")] = table.metadata.uid
        }
        for route in gatewayRoutes {
            let key = EventBuilder.Object.key(kind: GatewayRoute.kind, namespace: route.metadata.namespace ?? "default",
                                              name: route.metadata.name ?? "")
            uids[key] = route.metadata.uid
        }
        return uids
    }

    /// Sorts `objects` by kind.
    init(objects: [SourceObject], nodeLabels: [String: String]? = nil, synced: Bool, problems: [String]) {
        var tables: [RouteTable] = [], routes: [GatewayRoute] = [], services: [KubernetesService] = [], slices: [EndpointSlice] = []
        var secrets: [KubernetesSecret] = []
        for object in objects {
            switch object {
            case .routeTable(let table): tables.append(table)
            case .gatewayRoute(let route): routes.append(route)
            case .service(let service): services.append(service)
            case .endpointSlice(let slice): slices.append(slice)
            case .secret(let secret): secrets.append(secret)
            }
        }
        self.init(tables: tables, gatewayRoutes: routes, endpoints: EndpointIndex(services: services, slices: slices, secrets: secrets),
                  nodeLabels: nodeLabels, synced: synced, problems: problems)
    }
}

/// Where the agent's objects come from: a manifest directory, or the
/// Kubernetes API. Both feed the same loop, one snapshot of every kind.
public protocol ObjectSource: Sendable {
    /// Follows the input until cancelled, calling `changed` whenever the
    /// tables or the node's labels may have changed.
    func watch(changed: @escaping @Sendable () -> Void) async throws
    /// The tables now. `reread` is false on passes caused by link changes,
    /// so that a source may skip an expensive re-read (a failover must not
    /// wait for a parse of every manifest).
    func snapshot(reread: Bool) throws -> SourceSnapshot
}

/// RouteTables, GatewayRoutes, Services, EndpointSlices and TLS Secrets from `*.yaml`,
/// `*.yml` and `*.json` files of a directory, polled for changes (names,
/// sizes, mtimes).
public final class ManifestObjectSource: ObjectSource {
    public let directory: String
    public let pollInterval: Duration
    private let store = Mutex<ManifestStore?>(nil)

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
        var current = cached ?? ManifestStore()
        if reread || cached == nil {
            current.update(with: try ManifestDirectory.scan(directory))
            store.withLock { $0 = current }
        }
        // A directory is read whole, so the first read is a full sync.
        return SourceSnapshot(objects: current.objects, synced: true, problems: current.errors.map(\.description))
    }
}
