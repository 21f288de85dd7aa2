import Agent
import ArgumentParser
import Dataplane
import Foundation
import KubeClient
import Logging
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
        var services: [ServiceGroupConfiguration.ServiceConfiguration]
        if let manifests {
            logger.info("routelet agent starting", metadata: [
                "version": "\(RouteletVersion.string)", "node": "\(configuration.nodeName)", "manifests": "\(manifests)",
            ])
            let source = ManifestTableSource(directory: manifests)
            services = [.init(service: ReconcileService(configuration: configuration, source: source, facts: facts, logger: logger))]
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
            services = agent.kubernetesServices(configuration: configuration, client: KubeClient(config: config, userAgent: agent.userAgent),
                                                configNamespace: config.namespace, facts: facts, logger: logger)
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

    @Option(help: "Log format: text or json.")
    var logFormat: LogFormatArgument = LogFormatArgument(.text)

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a log level") }
        guard leaseDuration.duration >= .seconds(3) else { throw ValidationError("--lease-duration must be at least 3s") }
    }

    func bootstrapLogging() {
        logFormat.format.bootstrap(level: Logger.Level(rawValue: logLevel) ?? .info)
    }

    var userAgent: String { "routelet/\(RouteletVersion.string) (\(resolvedNodeName))" }

    var resolvedNodeName: String { nodeName ?? defaultNodeName() }

    func configuration(nodeLabels: [String: String] = [:]) -> AgentConfiguration {
        AgentConfiguration(nodeName: resolvedNodeName, nodeLabels: nodeLabels, pinDirectory: bpffsDirectory,
                           resyncPeriod: resyncPeriod.duration, stateDirectory: stateDir, agentVersion: RouteletVersion.string)
    }

    /// The agent against the Kubernetes API: the reconcile loop fed by
    /// watches, writing its RouteletNode, and the aggregator candidate.
    func kubernetesServices(configuration: AgentConfiguration, client: KubeClient, configNamespace: String?,
                            facts: any NodeFactsProvider, logger: Logger) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let namespace = self.namespace
            ?? ProcessInfo.processInfo.environment["POD_NAMESPACE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? configNamespace ?? "routelet-system"
        let source = KubernetesTableSource(client: client, nodeName: configuration.nodeName, logger: logger)
        let writer = RouteletNodeWriter(client: client, nodeName: configuration.nodeName, logger: logger)
        return [
            .init(service: ReconcileService(configuration: configuration, source: source, facts: facts, publisher: writer, logger: logger)),
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
