import AccessLog
import Agent
import ArgumentParser
import Dataplane
import Foundation
import KubeClient
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Converge this node's data plane to its RouteTables, and keep it there.",
        discussion: """
            The RouteTables come from the Kubernetes API (list and watch through --kubeconfig, \
            $KUBECONFIG, ~/.kube/config, or the in-cluster service account, in that order), or from a \
            directory of manifests with --manifests (every *.yaml, *.yml and *.json file, re-read on change). \
            Link and address changes are followed through rtnetlink. An invalid table is reported and the \
            routes it used to program stay as they were. On SIGTERM or SIGINT the agent stops and the data \
            plane keeps forwarding.

            With the Kubernetes API, the agent writes its node's RouteletNode status, and the agent that \
            holds the routelet-aggregator Lease (in --namespace) writes every RouteTable's status.

            To run it in another network namespace, use `nsenter --net=/run/netns/NAME routelet agent ...` \
            (not `ip netns exec`, which remounts /sys and hides /sys/fs/bpf).
            """
    )

    @Option(help: ArgumentHelp("Read RouteTables from this directory instead of the Kubernetes API.", valueName: "dir"))
    var manifests: String?

    @Option(help: ArgumentHelp("Kubeconfig for the Kubernetes API (default: $KUBECONFIG, ~/.kube/config, in-cluster).", valueName: "path"))
    var kubeconfig: String?

    @OptionGroup var agent: AgentOptions

    @Option(help: ArgumentHelp("This node's labels for nodeSelector, with --manifests (the API's Node labels otherwise): k=v,k2=v2.", valueName: "labels"))
    var nodeLabels: String = ""

    func validate() throws {
        if let manifests {
            guard FileManager.default.fileExists(atPath: manifests) else {
                throw ValidationError("--manifests \(manifests): no such directory")
            }
            guard kubeconfig == nil else { throw ValidationError("--manifests and --kubeconfig exclude each other: choose one source") }
        } else if !nodeLabels.isEmpty {
            throw ValidationError("--node-labels applies to --manifests only; with the Kubernetes API the labels come from the Node object")
        }
        _ = try parseLabels(nodeLabels)
        try agent.validate()
    }

    func run() async throws {
        agent.bootstrapLogging()
        let logger = Logger(label: "routelet.agent")
        let configuration = agent.configuration(nodeLabels: try parseLabels(nodeLabels))
        let facts = try NetlinkNodeFacts(logger: logger)
        let health = AgentHealth()
        var services = try agent.metricsServices(health: health, logger: logger) + agent.gatewayServices(health: health, logger: logger)
        if let manifests {
            logger.info("routelet agent starting", metadata: [
                "version": "\(RouteletVersion.string)", "node": "\(configuration.nodeName)", "manifests": "\(manifests)",
            ])
            let source = ManifestObjectSource(directory: manifests)
            services.append(.init(service: ReconcileService(configuration: configuration, source: source, facts: facts, health: health, logger: logger)))
        } else {
            let config: KubeConfig
            do {
                config = try KubeConfig.resolve(explicitPath: kubeconfig)
            } catch {
                throw ValidationError("\(error)")
            }
            logger.info("routelet agent starting", metadata: [
                "version": "\(RouteletVersion.string)", "node": "\(configuration.nodeName)", "api": "\(config.server)",
                "config": "\(config.origin)",
            ])
            services += agent.kubernetesServices(configuration: configuration, client: KubeClient(config: config, userAgent: agent.userAgent),
                                                 configNamespace: config.namespace, facts: facts, health: health, logger: logger)
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// The agent's flags, shared by `agent` and `standalone`.
struct AgentOptions: ParsableArguments {
    @Option(help: "This node's name (default: $NODE_NAME, else the host name).")
    var nodeName: String?

    @Option(help: "Namespace of the aggregator Lease (default: $POD_NAMESPACE, else the kubeconfig's or service account's, else routelet-system).")
    var namespace: String?

    @Option(name: .customLong("bpffs-dir"), help: "Directory on a BPF filesystem for routelet's pinned maps (mounted if needed).")
    var bpffsDirectory = BPFFS.defaultDirectory

    @Option(help: ArgumentHelp("Full pass at least this often, to repair drift (e.g. 30s, 500ms, 2m).", valueName: "duration"))
    var resyncPeriod: DurationArgument = DurationArgument(.seconds(30))

    @Option(help: ArgumentHelp("How long the aggregator Lease lasts without renewal before another agent takes over.", valueName: "duration"))
    var leaseDuration: DurationArgument = DurationArgument(.seconds(15))

    @Option(help: "Where to write the per-table status summary (status.json) that `routelet dump` shows.")
    var stateDir = "/run/routelet"

    @Option(help: ArgumentHelp("Serve /metrics, /healthz and /readyz here (\"\" turns it off).", valueName: "[host]:port"))
    var metricsAddr = ":9464"

    @Option(help: "Routes with their own packet and byte series in /metrics, at most (the rest count in their table's totals).")
    var metricsMaxRoutes = 1000

    @Option(help: ArgumentHelp("""
        How HTTP and HTTPS listeners are served: `child` starts `routelet gateway` beside the agent and keeps it running \
        (it outlives agent restarts; `routelet cleanup` stops it); `external` leaves it to a process of its own \
        (a second container) that reads --gateway-dir.
        """, valueName: "mode"))
    var gateway: GatewayMode = .child

    @Option(help: ArgumentHelp("Directory the agent writes the gateway's snapshot into, shared with `routelet gateway` (default: <state-dir>/gateway).", valueName: "dir"))
    var gatewayDir: String?

    @Option(help: ArgumentHelp("""
        Where access-log lines go, one JSON object per line ("-": standard output): the agent's header captures of TCP \
        listeners (eBPF, "source":"ebpf"), and with --gateway child the gateway's requests ("source":"gateway").
        """, valueName: "path"))
    var accessLog = "-"

    @Option(help: ArgumentHelp("""
        Header elements of TCP listeners (accessLog.headers) logged from eBPF: `auto` loads the router program with \
        header capture when the kernel has the ring buffer (5.8) and bpf_loop (5.17), the one without otherwise; \
        `off` always loads the one without (such listeners then report HeaderCaptureUnsupported and are still served).
        """, valueName: "mode"))
    var headerCapture: Dataplane.HeaderCapture = .auto

    @Option(help: ArgumentHelp("With --gateway child: where the gateway serves its /metrics (\"\" turns it off).", valueName: "[host]:port"))
    var gatewayMetricsAddr = ":9478"

    @Option(help: "Log format: text or json.")
    var logFormat: LogFormatArgument = LogFormatArgument(.text)

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a log level") }
        guard leaseDuration.duration >= .seconds(3) else { throw ValidationError("--lease-duration must be at least 3s") }
        _ = try metricsAddress()
        guard metricsMaxRoutes >= 0 else { throw ValidationError("--metrics-max-routes must not be negative") }
    }

    /// --metrics-addr as (host, port); nil when turned off.
    func metricsAddress() throws -> (host: String, port: Int)? {
        guard !metricsAddr.isEmpty else { return nil }
        guard let colon = metricsAddr.lastIndex(of: ":"), let port = Int(metricsAddr[metricsAddr.index(after: colon)...]),
              (1...65535).contains(port) else {
            throw ValidationError("--metrics-addr \(metricsAddr): expected [host]:port, like :9464 or 127.0.0.1:9464")
        }
        let host = String(metricsAddr[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    /// The Prometheus backend for swift-metrics, and the endpoint serving it.
    func metricsServices(health: AgentHealth, logger: Logger) throws -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Passes take from well under a millisecond to tens of seconds (1M routes).
        factory.defaultDurationHistogramBuckets = [.microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
                                                   .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                                   .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
                                                   .seconds(10), .seconds(30), .seconds(60)]
        MetricsSystem.bootstrap(factory)
        Gauge(label: "routelet_info", dimensions: [("version", RouteletVersion.string), ("abi", "\(DataplaneABI.version)")]).record(1)
        guard let address = try metricsAddress() else { return [] }
        return [.init(service: MetricsServer(host: address.host, port: address.port, registry: registry, health: health,
                                             pinDirectory: bpffsDirectory, maxRouteSeries: metricsMaxRoutes, logger: logger))]
    }

    func bootstrapLogging() {
        logFormat.format.bootstrap(level: Logger.Level(rawValue: logLevel) ?? .info)
    }

    var userAgent: String { "routelet/\(RouteletVersion.string) (\(resolvedNodeName))" }

    var resolvedNodeName: String { nodeName ?? defaultNodeName() }

    func configuration(nodeLabels: [String: String] = [:]) -> AgentConfiguration {
        AgentConfiguration(nodeName: resolvedNodeName, nodeLabels: nodeLabels, pinDirectory: bpffsDirectory,
                           resyncPeriod: resyncPeriod.duration, stateDirectory: stateDir, agentVersion: RouteletVersion.string,
                           gatewayDirectory: resolvedGatewayDirectory, headerCapture: headerCapture)
    }

    var resolvedGatewayDirectory: String { gatewayDir ?? (stateDir as NSString).appendingPathComponent("gateway") }

    /// The gateway's side of the agent: the writer of eBPF header captures
    /// (TCP listeners' accessLog.headers) into --access-log, and with
    /// --gateway child the service that keeps `routelet gateway` running.
    func gatewayServices(health: AgentHealth, logger: Logger) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        // Without header capture (--header-capture off, or a kernel that
        // cannot run it) the program writes no ring: nothing to read.
        let capture: [ServiceGroupConfiguration.ServiceConfiguration] =
            Dataplane.capturesHeaders(headerCapture)
            ? [.init(service: CaptureLogService(pinDirectory: bpffsDirectory, accessLog: accessLog == "-" ? .standardOutput : .file(accessLog),
                                                health: health, logger: logger))]
            : []
        guard gateway == .child else { return capture }
        let arguments = ["gateway", "--snapshot-dir", resolvedGatewayDirectory, "--access-log", accessLog,
                         "--metrics-addr", gatewayMetricsAddr, "--log-format", logFormat.format.rawValue, "--log-level", logLevel]
        return capture + [.init(service: GatewaySupervisor(executable: GatewaySupervisor.currentExecutable(), arguments: arguments,
                                                          directory: URL(fileURLWithPath: resolvedGatewayDirectory), logger: logger))]
    }

    /// The agent against the Kubernetes API: the reconcile loop fed by
    /// watches, writing its RouteletNode, and the aggregator candidate.
    func kubernetesServices(configuration: AgentConfiguration, client: KubeClient, configNamespace: String?,
                            facts: any NodeFactsProvider, health: AgentHealth,
                            logger: Logger) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let namespace = self.namespace
            ?? ProcessInfo.processInfo.environment["POD_NAMESPACE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? configNamespace ?? "routelet-system"
        let source = KubernetesObjectSource(client: client, nodeName: configuration.nodeName, logger: logger)
        let writer = RouteletNodeWriter(client: client, nodeName: configuration.nodeName, logger: logger)
        return [
            .init(service: ReconcileService(configuration: configuration, source: source, facts: facts, publisher: writer,
                                            health: health, logger: logger)),
            .init(service: AggregatorService(client: client, identity: configuration.nodeName, namespace: namespace,
                                             leaseDuration: leaseDuration.duration, logger: logger)),
        ]
    }
}

func defaultNodeName() -> String {
    if let name = ProcessInfo.processInfo.environment["NODE_NAME"], !name.isEmpty { return name }
    return ProcessInfo.processInfo.hostName
}

/// "k=v,k2=v2" -> labels.
func parseLabels(_ text: String) throws -> [String: String] {
    var labels: [String: String] = [:]
    for pair in text.split(separator: ",") where !pair.isEmpty {
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--node-labels: \"\(pair)\" is not key=value") }
        labels[String(parts[0])] = String(parts[1])
    }
    return labels
}

/// A duration on the command line: 30s, 500ms, 2m, 1h, or plain seconds.
struct DurationArgument: ExpressibleByArgument, Sendable {
    var duration: Duration

    init(_ duration: Duration) { self.duration = duration }

    init?(argument: String) {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where argument.hasSuffix(suffix) {
            guard let value = Double(argument.dropLast(suffix.count)), value > 0 else { return nil }
            duration = .milliseconds(Int64(value * scale * 1000))
            return
        }
        guard let seconds = Double(argument), seconds > 0 else { return nil }
        duration = .milliseconds(Int64(seconds * 1000))
    }

    var defaultValueDescription: String { "\(duration)" }
}

enum GatewayMode: String, ExpressibleByArgument, CaseIterable, Sendable {
    case child, external
}

extension Dataplane.HeaderCapture: ExpressibleByArgument {}

struct LogFormatArgument: ExpressibleByArgument, Sendable {
    var format: LogFormat
    init(_ format: LogFormat) { self.format = format }
    init?(argument: String) {
        guard let format = LogFormat(rawValue: argument) else { return nil }
        self.format = format
    }
    var defaultValueDescription: String { format.rawValue }
    static var allValueStrings: [String] { LogFormat.allCases.map(\.rawValue) }
}
