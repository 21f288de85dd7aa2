import Agent
import ArgumentParser
import Foundation
import Gateway
import Logging
import ServiceLifecycle

struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Serve the node's HTTP and HTTPS GatewayRoutes: the reverse proxy the agent feeds.",
        discussion: """
            Reads the snapshot the agent writes into --snapshot-dir (snapshot.json, re-read when it \\
            changes) and serves it: each HTTP listener's address and port is bound (IP_TRANSPARENT, so \\
            the address need not be the node's; the agent's eBPF stage hands the listener's packets to \\
            the socket), requests are matched against the routes' rules and proxied to their backends' \\
            endpoints. A new snapshot is applied without dropping a connection; when the agent is away \\
            the last one keeps being served. On SIGTERM or SIGINT the gateway stops accepting, finishes \\
            the requests in flight (up to --shutdown-grace) and exits.

            `routelet agent` and `routelet standalone` start it themselves (--gateway child); run it \\
            on its own, e.g. as a second container of the DaemonSet pod, with --gateway external there.
            """
    )

    @Option(help: ArgumentHelp("Directory the agent writes the snapshot into.", valueName: "dir"))
    var snapshotDir = "/run/routelet/gateway"

    @Option(help: ArgumentHelp("Access log: one JSON line per request (\"-\": standard output).", valueName: "path"))
    var accessLog = "-"

    @Option(help: ArgumentHelp("Serve /metrics here (\"\" turns it off).", valueName: "[host]:port"))
    var metricsAddr = ":9478"

    @Option(help: ArgumentHelp("Connecting to an endpoint takes at most this long; then the next endpoint is tried.", valueName: "duration"))
    var connectTimeout = DurationArgument(.seconds(5))

    @Option(help: ArgumentHelp("A backend must answer with a response head within this long, or the client gets 504.", valueName: "duration"))
    var requestTimeout = DurationArgument(.seconds(30))

    @Option(help: ArgumentHelp("Idle keep-alive connections (client and backend side) are closed after this long.", valueName: "duration"))
    var idleTimeout = DurationArgument(.seconds(60))

    @Option(help: ArgumentHelp("A request's line and headers must arrive within this long, or the client gets 408.", valueName: "duration"))
    var headerTimeout = DurationArgument(.seconds(10))

    @Option(help: ArgumentHelp("Request line and headers above this many bytes get 431.", valueName: "bytes"))
    var maxHeaderBytes = 65536

    @Option(help: ArgumentHelp("On SIGTERM, requests in flight get this long to finish.", valueName: "duration"))
    var shutdownGrace = DurationArgument(.seconds(30))

    @Option(help: "Event-loop threads (default: one per core).")
    var threads: Int?

    @Option(help: "Log format: text or json.")
    var logFormat: LogFormatArgument = LogFormatArgument(.text)

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a log level") }
        guard maxHeaderBytes >= 1024 else { throw ValidationError("--max-header-bytes must be at least 1024") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        _ = try metricsAddress()
    }

    func metricsAddress() throws -> String? {
        guard !metricsAddr.isEmpty else { return nil }
        guard let colon = metricsAddr.lastIndex(of: ":"), let port = Int(metricsAddr[metricsAddr.index(after: colon)...]),
              (1...65535).contains(port) else {
            throw ValidationError("--metrics-addr \(metricsAddr): expected [host]:port, like :9478 or 127.0.0.1:9478")
        }
        return metricsAddr.hasPrefix(":") ? "0.0.0.0" + metricsAddr : metricsAddr
    }

    func run() async throws {
        logFormat.format.bootstrap(level: Logger.Level(rawValue: logLevel) ?? .info)
        // A closed standard output (the agent that started us is gone) must not kill the gateway.
        signal(SIGPIPE, SIG_IGN)
        let logger = Logger(label: "routelet.gateway")
        let directory = URL(fileURLWithPath: snapshotDir)
        var configuration = GatewayConfiguration(snapshotDirectory: directory)
        configuration.accessLog = accessLog == "-" ? .standardOutput : .file(accessLog)
        configuration.metricsAddress = try metricsAddress()
        configuration.connectTimeout = connectTimeout.duration
        configuration.requestTimeout = requestTimeout.duration
        configuration.idleTimeout = idleTimeout.duration
        configuration.headerTimeout = headerTimeout.duration
        configuration.maxHeaderBytes = maxHeaderBytes
        configuration.shutdownGracePeriod = shutdownGrace.duration
        if let threads { configuration.eventLoopThreads = threads }
        if let running = GatewayPIDFile.runningGateway(in: directory), running != getpid() {
            throw ValidationError("routelet gateway (pid \(running)) already serves \(snapshotDir)")
        }
        try GatewayPIDFile.write(in: directory)
        defer { GatewayPIDFile.remove(in: directory) }
        logger.info("routelet gateway starting", metadata: ["version": "\(RouteletVersion.string)", "dir": "\(snapshotDir)"])
        let server = try GatewayServer(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: GatewayService(server: server))],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// The gateway in a ServiceGroup: a graceful shutdown cancels its run, which drains.
struct GatewayService: Service {
    let server: GatewayServer

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await server.run() }
    }
}
