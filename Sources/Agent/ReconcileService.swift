import Dataplane
import Foundation
import Logging
import Reconciler
import ServiceLifecycle

/// The agent's level-triggered loop. Any event (manifests changed, a link
/// or address changed, the resync timer) means "look again"; bursts
/// coalesce into one pass. A pass reads everything (manifests, node facts,
/// the kernel's actual state), compiles, diffs and applies. Failed passes
/// are retried with backoff; the data plane is left as it is on shutdown.
public struct ReconcileService: Service {
    let configuration: AgentConfiguration
    let facts: any NodeFactsProvider
    let logger: Logger

    public init(configuration: AgentConfiguration, facts: any NodeFactsProvider, logger: Logger) {
        self.configuration = configuration
        self.facts = facts
        self.logger = logger
    }

    enum Trigger: String, Sendable {
        case start, manifests, links, resync, retry
    }

    public func run() async throws {
        let (triggers, continuation) = AsyncStream.makeStream(of: Trigger.self, bufferingPolicy: .bufferingNewest(1))
        continuation.yield(.start)

        try await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { [configuration] in
                    // The manifest directory, polled for a changed fingerprint.
                    var last = ManifestDirectory.fingerprint(of: configuration.manifestDirectory)
                    while !Task.isCancelled {
                        try await Task.sleep(for: configuration.manifestPollInterval)
                        let now = ManifestDirectory.fingerprint(of: configuration.manifestDirectory)
                        if now != last {
                            last = now
                            continuation.yield(.manifests)
                        }
                    }
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
                group.addTask {
                    // The data plane is opened and used by this task alone.
                    let dataplane = try Dataplane(pinDirectory: configuration.pinDirectory)
                    logger.info("data plane opened", metadata: [
                        "bpffs": "\(configuration.pinDirectory)", "restored": "\(dataplane.restored)", "abi": "\(DataplaneABI.version)",
                    ])
                    var loop = Loop(configuration: configuration, facts: facts, logger: logger)
                    var backoff = Backoff()
                    for await trigger in triggers {
                        do {
                            try loop.pass(trigger: trigger, dataplane: dataplane)
                            backoff.reset()
                        } catch {
                            let delay = backoff.next()
                            logger.error("pass failed; retrying", metadata: [
                                "error": "\(error)", "attempt": "\(backoff.failures)", "retryIn": "\(delay)",
                            ])
                            try await Task.sleep(for: delay)
                            continuation.yield(.retry)
                        }
                    }
                }
            }
        }
        continuation.finish()
        logger.info("agent stopped; the data plane stays as it is")
    }

    /// The state one pass hands to the next.
    struct Loop {
        let configuration: AgentConfiguration
        let facts: any NodeFactsProvider
        let logger: Logger
        var store = TableStore()
        var passes = 0
        var lastStatus: StatusReport?
        var lastErrors: [ManifestError] = []
        /// Whether the next pass must read the manifests. A link change does
        /// not: a failover must not wait for a full parse of every table.
        var manifestsStale = true
        var tableNames: [UInt32: String] = [:]

        init(configuration: AgentConfiguration, facts: any NodeFactsProvider, logger: Logger) {
            self.configuration = configuration
            self.facts = facts
            self.logger = logger
        }

        mutating func pass(trigger: Trigger, dataplane: Dataplane) throws {
            let started = ContinuousClock.now
            passes += 1
            if trigger != .links { manifestsStale = true }
            if manifestsStale {
                let scan = try ManifestDirectory.scan(configuration.manifestDirectory)
                store.update(with: scan)
                manifestsStale = false
                if scan.errors != lastErrors {
                    for error in scan.errors { logger.warning("invalid manifest", metadata: ["error": "\(error)"]) }
                    for ignored in scan.ignored { logger.info("ignored manifest object", metadata: ["file": "\(ignored.file)", "kind": "\(ignored.kind)"]) }
                    lastErrors = scan.errors
                }
            }

            var node = try facts.read()
            node.name = configuration.nodeName
            node.labels = configuration.nodeLabels
            let compilation = Compiler.compile(tables: store.tables, node: node)
            for verdict in compilation.verdicts { tableNames[verdict.tableID] = verdict.name }

            let actual = try DataplaneState.read(maps: dataplane.maps)
            let plan = Planner.plan(desired: compilation.desired, actual: actual, isCurrent: dataplane.isCurrent)
            let writes = try Applier.apply(plan.operations, to: dataplane)
            let elapsed = ContinuousClock.now - started

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

            let status = StatusReport(node: node.name, verdicts: compilation.verdicts, manifestErrors: store.errors)
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
                lastStatus = status
            }
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
