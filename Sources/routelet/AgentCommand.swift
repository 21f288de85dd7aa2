import Agent
import ArgumentParser
import Dataplane
import Foundation
import Logging
import ServiceLifecycle

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Converge this node's data plane to the RouteTables in a manifest directory, and keep it there.",
        discussion: """
            Reads every *.yaml, *.yml and *.json file in --manifests (RouteTables; other kinds are \
            ignored with a log line), re-reads it on change, and follows link and address changes \
            through rtnetlink. An invalid manifest is reported and the routes it used to program stay \
            as they were. On SIGTERM or SIGINT the agent stops and the data plane keeps forwarding.

            To run it in another network namespace, use `nsenter --net=/run/netns/NAME routelet agent ...` \
            (not `ip netns exec`, which remounts /sys and hides /sys/fs/bpf).
            """
    )

    @Option(help: ArgumentHelp("Directory of RouteTable manifests.", valueName: "dir"))
    var manifests: String

    @Option(help: "This node's name (default: $NODE_NAME, else the host name).")
    var nodeName: String?

    @Option(help: ArgumentHelp("This node's labels, for nodeSelector: k=v,k2=v2.", valueName: "labels"))
    var nodeLabels: String = ""

    @Option(name: .customLong("bpffs-dir"), help: "Directory on a BPF filesystem for routelet's pinned maps (mounted if needed).")
    var bpffsDirectory = BPFFS.defaultDirectory

    @Option(help: ArgumentHelp("Full pass at least this often, to repair drift (e.g. 30s, 500ms, 2m).", valueName: "duration"))
    var resyncPeriod: DurationArgument = DurationArgument(.seconds(30))

    @Option(help: "Where to write the per-table status summary (status.json) that `routelet dump` shows.")
    var stateDir = "/run/routelet"

    @Option(help: "Log format: text or json.")
    var logFormat: LogFormatArgument = LogFormatArgument(.text)

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func validate() throws {
        guard FileManager.default.fileExists(atPath: manifests) else {
            throw ValidationError("--manifests \(manifests): no such directory")
        }
        _ = try parseLabels(nodeLabels)
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a log level") }
    }

    func run() async throws {
        logFormat.format.bootstrap(level: Logger.Level(rawValue: logLevel) ?? .info)
        let logger = Logger(label: "routelet.agent")
        let configuration = AgentConfiguration(
            manifestDirectory: manifests, nodeName: nodeName ?? defaultNodeName(), nodeLabels: try parseLabels(nodeLabels),
            pinDirectory: bpffsDirectory, resyncPeriod: resyncPeriod.duration, stateDirectory: stateDir)
        logger.info("routelet agent starting", metadata: [
            "version": "\(RouteletVersion.string)", "node": "\(configuration.nodeName)", "manifests": "\(manifests)",
            "resyncPeriod": "\(resyncPeriod.duration)",
        ])
        let service = ReconcileService(configuration: configuration, facts: try NetlinkNodeFacts(logger: logger), logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
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
