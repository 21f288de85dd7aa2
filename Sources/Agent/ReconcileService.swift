import Dataplane
import Foundation
import GatewayConfig
import KubeClient
import Logging
import Netlink
import Reconciler
import RouteletAPI
import ServiceLifecycle

/// The agent's level-triggered loop. Any event (the tables changed, a link
/// or address changed, the resync timer) means "look again"; bursts
/// coalesce into one pass. A pass reads everything (the source's tables,
/// node facts, the kernel's actual state), compiles, diffs and applies.
/// Failed passes are retried with backoff; the data plane is left as it
/// is on shutdown.
public struct ReconcileService: Service {
    let configuration: AgentConfiguration
    let source: any ObjectSource
    let facts: any NodeFactsProvider
    /// Where the node's status goes besides the log and status.json (the
    /// RouteletNode, when the tables come from the Kubernetes API).
    let publisher: (any NodeStatusPublisher)?
    /// What `/readyz` and the metrics endpoint learn from the loop.
    let health: AgentHealth?
    let logger: Logger

    public init(configuration: AgentConfiguration, source: any ObjectSource, facts: any NodeFactsProvider,
                publisher: (any NodeStatusPublisher)? = nil, health: AgentHealth? = nil, logger: Logger) {
        self.configuration = configuration
        self.source = source
        self.facts = facts
        self.publisher = publisher
        self.health = health
        self.logger = logger
    }

    enum Trigger: String, Sendable {
        case start, tables, links, resync, retry, gateway
    }

    public func run() async throws {
        let (triggers, continuation) = AsyncStream.makeStream(of: Trigger.self, bufferingPolicy: .bufferingNewest(1))
        continuation.yield(.start)

        // A graceful shutdown cancels the loop's tasks, whose sleeps then
        // throw CancellationError: that is the way out, not a failure (the
        // process exits 0 on SIGTERM).
        do {
            try await cancelWhenGracefulShutdown { try await runLoop(triggers: triggers, continuation: continuation) }
        } catch is CancellationError where Task.isShuttingDownGracefully {}
        continuation.finish()
        logger.info("agent stopped; the data plane stays as it is")
    }

    private func runLoop(triggers: AsyncStream<Trigger>, continuation: AsyncStream<Trigger>.Continuation) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { [source] in
                try await source.watch { continuation.yield(.tables) }
            }
            group.addTask { [facts] in
                for await _ in facts.changes() { continuation.yield(.links) }
            }
            group.addTask { [configuration] in
                while !Task.isCancelled {
                    try await Task.sleep(for: configuration.resyncPeriod)
                    continuation.yield(.resync)
                }
            }
            if let publisher {
                group.addTask { try await publisher.run() }
            }
            if let directory = configuration.gatewayDirectory {
                // What the gateway serves is part of the status: look again when it reports.
                group.addTask {
                    let url = URL(fileURLWithPath: directory)
                    var last = GatewayServingStatus.load(from: url)
                    while !Task.isCancelled {
                        try await Task.sleep(for: .milliseconds(250))
                        let now = GatewayServingStatus.load(from: url)
                        if now != last { continuation.yield(.gateway) }
                        last = now
                    }
                }
            }
            group.addTask {
                // The data plane is opened and used by this task alone.
                let dataplane = try Dataplane(pinDirectory: configuration.pinDirectory, headerCapture: configuration.headerCapture)
                logger.info("data plane opened", metadata: [
                    "bpffs": "\(configuration.pinDirectory)", "restored": "\(dataplane.restored)", "abi": "\(DataplaneABI.version)",
                    "headerCapture": "\(dataplane.capturesHeaders)",
                ])
                var loop = Loop(configuration: configuration, source: source, facts: facts, publisher: publisher,
                                health: health, restoredAt: dataplane.restored ? Date().ISO8601Format() : nil, logger: logger)
                // Failed passes: 100 ms doubling to 1 min.
                var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(60))
                for await trigger in triggers {
                    let started = ContinuousClock.now
                    do {
                        try loop.pass(trigger: trigger, dataplane: dataplane)
                        backoff.reset()
                    } catch {
                        AgentMetrics.pass(trigger: trigger.rawValue, ok: false, duration: .now - started)
                        health?.failed()
                        let delay = backoff.next()
                        logger.error("pass failed; retrying", metadata: [
                            "error": "\(error)", "attempt": "\(backoff.failures)", "retryIn": "\(delay)",
                        ])
                        loop.publishFailure(error)
                        try await Task.sleep(for: delay)
                        continuation.yield(.retry)
                    }
                }
            }
        }
    }

    /// The state one pass hands to the next.
    struct Loop {
        let configuration: AgentConfiguration
        let source: any ObjectSource
        let facts: any NodeFactsProvider
        let publisher: (any NodeStatusPublisher)?
        let health: AgentHealth?
        let restoredAt: String?
        let logger: Logger
        var passes = 0
        var lastStatus: StatusReport?
        var lastProblems: [String] = []
        var lastSynced = false
        var lastNodeStatus: RouteletNodeStatus?
        /// The Maglev tables of the last passes, rebuilt only when they change.
        let maglev = MaglevCache()
        /// The HTTP gateway's snapshot, when the agent feeds one.
        let gatewaySnapshots: GatewaySnapshotWriter?
        /// The uid of each table and route, for the Events about them.
        var uids: [String: String] = [:]
        var tableNames: [UInt32: String] = [:]

        init(configuration: AgentConfiguration, source: any ObjectSource, facts: any NodeFactsProvider,
             publisher: (any NodeStatusPublisher)?, health: AgentHealth?, restoredAt: String?, logger: Logger) {
            self.configuration = configuration
            self.source = source
            self.facts = facts
            self.publisher = publisher
            self.health = health
            self.restoredAt = restoredAt
            self.logger = logger
            gatewaySnapshots = configuration.gatewayDirectory.map { GatewaySnapshotWriter(directory: URL(fileURLWithPath: $0), logger: logger) }
        }

        mutating func pass(trigger: Trigger, dataplane: Dataplane) throws {
            let started = ContinuousClock.now
            passes += 1
            let snapshot = try source.snapshot(reread: trigger != .links && trigger != .gateway)
            if snapshot.problems != lastProblems {
                for problem in snapshot.problems where !lastProblems.contains(problem) {
                    logger.warning("invalid input", metadata: ["error": "\(problem)"])
                }
                lastProblems = snapshot.problems
            }
            if snapshot.synced != lastSynced {
                logger.info("source synced: removals enabled", metadata: ["tables": "\(snapshot.tables.count)"])
                lastSynced = snapshot.synced
            }

            var node = try facts.read()
            node.name = configuration.nodeName
            node.canCaptureHeaders = dataplane.capturesHeaders
            node.labels = snapshot.nodeLabels ?? configuration.nodeLabels
            let compilation = Compiler.compile(tables: snapshot.tables, node: node)
            for verdict in compilation.verdicts { tableNames[verdict.tableID] = verdict.name }
            let gateway = GatewayCompiler.compile(routes: snapshot.gatewayRoutes, endpoints: snapshot.endpoints, node: node)
            var desired = compilation.desired
            desired.listeners = gateway.listeners
            desired.gatewayInterfaces = gateway.interfaces
            desired.localDelivery = configuration.localDelivery
            // The gateway binds new listeners from the snapshot while this
            // pass hands their packets to it; a removed listener's packets
            // stop before its socket closes on the next read of the file.
            // Before the first full read the routes are a partial view: the
            // gateway keeps serving the last snapshot instead of losing listeners.
            if snapshot.synced {
                try gatewaySnapshots?.update(node: node.name, listeners: gateway.httpListeners, files: gateway.certificateFiles,
                                             checkDisk: trigger == .resync)
            }
            var gatewayVerdicts = gateway.verdicts
            if let writer = gatewaySnapshots {
                let serving = writer.servingProblems(listeners: gateway.httpListeners)
                for index in gatewayVerdicts.indices where gatewayVerdicts[index].problems.isEmpty {
                    let listener = gatewayVerdicts[index].listener
                    if let problem = serving.first(where: { listener.hasPrefix($0.key + "/") })?.value {
                        gatewayVerdicts[index].problems.append(problem)
                    }
                }
            }

            var actual = try DataplaneState.read(maps: dataplane.maps, gateway: dataplane.gateway)
            // The policy rules and routes are read every pass too: one
            // removed by hand is put back at the next resync.
            actual.localDelivery = try LocalDeliveryNetlink.read(table: configuration.localDelivery.table, socket: RouteNetlinkSocket())
            maglev.startPass()
            var plan = Planner.plan(desired: desired, actual: actual, isCurrent: dataplane.isCurrent, prune: snapshot.synced,
                                    maglev: maglev)
            if plan.operations.contains(where: \.removesBackend) {
                // Conntrack is walked only now: backends live flows use stay, draining.
                let active = try dataplane.gateway.activeBackendIDs()
                actual.gateway.activeBackendIDs = active
                plan = Planner.plan(desired: desired, actual: actual, isCurrent: dataplane.isCurrent, prune: snapshot.synced,
                                    maglev: maglev)
                logger.debug("backends with live flows stay while they drain", metadata: ["backends": "\(active.sorted())"])
            }
            let tally: [String: Int]
            do {
                tally = try Applier.apply(plan.operations, to: dataplane)
            } catch {
                AgentMetrics.writes(error.writes, drift: trigger == .resync)
                throw error
            }
            let writes = tally.values.reduce(0, +)
            let elapsed = ContinuousClock.now - started
            AgentMetrics.writes(tally, drift: trigger == .resync)
            AgentMetrics.pass(trigger: trigger.rawValue, ok: true, duration: elapsed)

            logChanges(plan.operations, actual: actual, verdicts: compilation.verdicts)
            let metadata: Logger.Metadata = [
                "pass": "\(passes)", "trigger": "\(trigger.rawValue)", "operations": "\(plan.operations.count)",
                "writes": "\(writes)", "duration": "\(elapsed.formatted(.units(allowed: [.milliseconds], fractionalPart: .show(length: 1))))",
            ]
            if writes > 0 || passes == 1 {
                logger.info("pass done", metadata: metadata)
            } else {
                logger.debug("pass done", metadata: metadata)
            }

            let status = StatusReport(node: node.name, verdicts: compilation.verdicts, gatewayVerdicts: gatewayVerdicts,
                                      inputProblems: snapshot.problems)
            if status != lastStatus {
                for table in status.tables {
                    logger.info("table status", metadata: [
                        "table": "\(table.name)", "programmed": "\(table.programmed)",
                        "interfaces": "\(table.interfaces.joined(separator: ","))",
                        "installed": "\(table.routes.installed)", "down": "\(table.routes.down)",
                        "problems": "\(table.problems.joined(separator: "; "))",
                    ])
                }
                if let directory = configuration.stateDirectory { try status.write(to: directory) }
                for table in status.tables { AgentMetrics.installedRoutes(table: table.name, table.routes.installed) }
                for gone in (lastStatus?.tables ?? []) where !status.tables.contains(where: { $0.name == gone.name }) {
                    AgentMetrics.installedRoutes(table: gone.name, 0)
                }
                lastStatus = status
            }
            health?.passed(synced: snapshot.synced, tableNames: tableNames, listenerOwners: gateway.listeners.mapValues(\.owner))
            // Before the first full read, the verdicts describe a partial view: not worth a write.
            guard snapshot.synced else { return }
            uids = snapshot.uids
            publish(NodeStatusBuilder.status(verdicts: compilation.verdicts, gatewayVerdicts: gatewayVerdicts,
                                             agentVersion: configuration.agentVersion, restoredAt: restoredAt, failure: nil))
        }

        /// A failed pass makes the node not Ready, with the error, until a pass succeeds.
        mutating func publishFailure(_ error: any Error) {
            guard var status = lastNodeStatus else { return }
            status.conditions = [NodeStatusBuilder.readyCondition(tables: status.tables, gatewayRoutes: status.gatewayRoutes,
                                                                  failure: "\(error)")]
            publish(status)
        }

        private mutating func publish(_ status: RouteletNodeStatus) {
            guard let publisher, status != lastNodeStatus else { return }
            lastNodeStatus = status
            publisher.publish(status, uids: uids)
        }

        /// One line per table that changed: routes added, changed, removed.
        func logChanges(_ operations: [Reconciler.Operation], actual: DataplaneState, verdicts: [TableVerdict]) {
            var added: [String: Int] = [:], changed: [String: Int] = [:], removed: [String: Int] = [:]
            func name(_ table: UInt32) -> String { tableNames[table] ?? "table#\(table)" }
            for operation in operations {
                switch operation {
                case .setRoute(let key, _):
                    if actual.routes[key] == nil { added[name(key.table), default: 0] += 1 } else { changed[name(key.table), default: 0] += 1 }
                case .removeRoute(let key):
                    removed[name(key.table), default: 0] += 1
                default:
                    break
                }
            }
            for table in Set(added.keys).union(changed.keys).union(removed.keys).sorted() {
                logger.info("table changed", metadata: [
                    "table": "\(table)", "added": "\(added[table] ?? 0)", "changed": "\(changed[table] ?? 0)", "removed": "\(removed[table] ?? 0)",
                ])
            }
        }
    }
}
