import Foundation
import JSONValue
import KubeClient
import Logging
import Reconciler
import RouteletAPI
import ServiceLifecycle
import Synchronization

/// Writes every RouteTable's and GatewayRoute's aggregate status (api.md,
/// Aggregation) while this agent holds the `routelet-aggregator` Lease: it
/// watches RouteTables, GatewayRoutes, Nodes and RouteletNodes, and writes
/// an object's status only when the aggregate differs from what it holds. Agents that do not hold
/// the lease only renew their candidacy; they watch nothing.
public struct AggregatorService: Service {
    let client: KubeClient
    let identity: String
    let namespace: String
    let leaseDuration: Duration
    let logger: Logger

    public init(client: KubeClient, identity: String, namespace: String, leaseDuration: Duration = .seconds(15), logger: Logger) {
        self.client = client
        self.identity = identity
        self.namespace = namespace
        self.leaseDuration = leaseDuration
        self.logger = logger
    }

    public func run() async throws {
        var elector = LeaseElector(client: client, identity: identity, namespace: namespace, duration: leaseDuration, logger: logger)
        var work: Task<Void, any Error>?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let leading = await elector.step()
            AgentMetrics.aggregatorLeader(leading)
            if leading, work == nil {
                logger.info("aggregator lease acquired; writing RouteTable status", metadata: ["lease": "\(namespace)/routelet-aggregator"])
                work = Task { [client, logger] in try await Aggregator(client: client, logger: logger).run() }
            } else if !leading, let running = work {
                logger.info("aggregator lease lost", metadata: ["lease": "\(namespace)/routelet-aggregator"])
                running.cancel()
                work = nil
            }
            // Only the wait ends early on shutdown; the loop then stops.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: leaseDuration / 3) }
        }
        work?.cancel()
        // Hand the lease over rather than let it lapse (a rolling update).
        if work != nil { await elector.release() }
    }
}

/// The aggregation itself, for as long as it runs.
final class Aggregator: Sendable {
    let client: KubeClient
    let logger: Logger
    private let state = Mutex(State())

    init(client: KubeClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// An object as watched, and decoded once when it arrives (a pass runs
    /// on every RouteletNode change; it must not decode every object).
    struct Watched<Resource> {
        var object: JSONValue
        var resource: Resource

        init?(_ object: JSONValue, _ decode: (JSONValue) throws -> Resource) {
            guard let resource = try? decode(object) else { return nil }
            self.object = object
            self.resource = resource
        }
    }
    typealias Table = Watched<RouteTable>
    typealias Route = Watched<GatewayRoute>

    struct State {
        var tables: [String: Table] = [:]
        /// By "namespace/name".
        var routes: [String: Route] = [:]
        var nodes: [String: [String: String]] = [:]
        var reports: [String: RouteletNodeStatus] = [:]
        var synced: Set<String> = []
        var isSynced: Bool { synced.count == 4 }
    }

    func run() async throws {
        let (dirty, mark) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { [self] in
                for try await change in client.changes(of: .routeTables) {
                    state.withLock { $0.apply(change, kind: "tables") { $0.tables[$1] = $2.flatMap { Table($0, RouteTable.decode(from:)) } } }
                    mark.yield()
                }
            }
            group.addTask { [self] in
                for try await change in client.changes(of: .gatewayRoutes) {
                    state.withLock { $0.apply(change, kind: "routes", key: { "\($0.metadata("namespace") ?? "")/\($0.metadata("name") ?? "")" }) {
                        $0.routes[$1] = $2.flatMap { Route($0, GatewayRoute.decode(from:)) }
                    } }
                    mark.yield()
                }
            }
            group.addTask { [self] in
                for try await change in client.changes(of: .nodes) {
                    state.withLock {
                        $0.apply(change, kind: "nodes") { state, name, object in
                            state.nodes[name] = object.map(\.labels)
                        }
                    }
                    mark.yield()
                }
            }
            group.addTask { [self] in
                for try await change in client.changes(of: .routeletNodes) {
                    state.withLock {
                        $0.apply(change, kind: "reports") { state, name, object in
                            state.reports[name] = object.flatMap { try? RouteletNode.decode(from: $0).status }
                        }
                    }
                    mark.yield()
                }
            }
            group.addTask { [self] in
                var backoff = Backoff(initial: .milliseconds(800), maximum: .seconds(30))
                for await _ in dirty {
                    let snapshot = state.withLock { $0 }
                    guard snapshot.isSynced else { continue }
                    let failures = await writeChanged(snapshot)
                    if failures > 0 {
                        try await Task.sleep(for: backoff.next())
                        mark.yield()
                    } else {
                        backoff.reset()
                    }
                }
            }
        }
    }

    /// Writes each table and route whose aggregate changed; returns how many writes failed.
    func writeChanged(_ snapshot: State) async -> Int {
        let nodes = snapshot.nodes.map { Aggregation.Node(name: $0.key, labels: $0.value) }
        let now = Date().ISO8601Format()
        var failures = 0
        for (key, watched) in snapshot.routes.sorted(by: { $0.key < $1.key }) {
            let route = watched.resource
            let status = Aggregation.status(of: route, nodes: nodes, reports: snapshot.reports, previous: route.status, now: now)
            guard status != route.status else { continue }
            switch await write(status, into: watched.object, of: .gatewayRoutes, namespace: route.metadata.namespace, kind: "GatewayRoute",
                               metadata: ["route": "\(key)", "nodes": "\(status.nodesReady)", "backends": "\(status.backendsReady)",
                                          "programmed": "\(status.condition("Programmed")?.status.rawValue ?? "")"]) {
            case .written(let object): state.withLock { $0.routes[key] = Route(object, GatewayRoute.decode(from:)) }
            case .skipped: break
            case .failed: failures += 1
            }
        }
        for (name, watched) in snapshot.tables.sorted(by: { $0.key < $1.key }) {
            let table = watched.resource
            let status = Aggregation.status(of: table, nodes: nodes, reports: snapshot.reports, previous: table.status, now: now)
            guard status != table.status else { continue }
            switch await write(status, into: watched.object, of: .routeTables, namespace: nil, kind: "RouteTable",
                               metadata: ["table": "\(name)", "nodes": "\(status.nodesReady)",
                                          "programmed": "\(status.condition("Programmed")?.status.rawValue ?? "")"]) {
            case .written(let object): state.withLock { $0.tables[name] = Table(object, RouteTable.decode(from:)) }
            case .skipped: break
            case .failed: failures += 1
            }
        }
        return failures
    }

    enum WriteOutcome {
        /// The object as written: kept at once, so that a change arriving
        /// before the watch brings it back causes no second write.
        case written(JSONValue)
        /// Changed or deleted meanwhile: the watch delivers the news, and a new pass follows.
        case skipped
        case failed
    }

    /// Writes `status` into `object` through its `/status` subresource.
    func write(_ status: some Encodable, into object: JSONValue, of resource: KubeResource, namespace: String?, kind: String,
               metadata: Logger.Metadata) async -> WriteOutcome {
        var updated = object
        do {
            updated["status"] = try JSONValue(encoding: status)
            let written = try await client.replace(resource, updated, namespace: namespace, subresource: "status")
            AgentMetrics.statusWrite(kind.lowercased())
            logger.info("\(kind) status written", metadata: metadata)
            return .written(written)
        } catch let error as KubeError where error.isConflict || error.isNotFound {
            return .skipped
        } catch {
            logger.warning("cannot write \(kind) status", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            return .failed
        }
    }
}

extension Aggregator.State {
    /// Applies a change to one of the caches; `set` stores (or with nil
    /// removes) an object by its key (default: its name).
    mutating func apply(_ change: ResourceChange, kind: String, key: (JSONValue) -> String? = { $0.metadata("name") },
                        set: (inout Self, String, JSONValue?) -> Void) {
        switch change {
        case .added(let object), .modified(let object):
            if let name = key(object) { set(&self, name, object) }
        case .deleted(let object):
            if let name = key(object) { set(&self, name, nil) }
        case .synced:
            synced.insert(kind)
        }
    }
}
