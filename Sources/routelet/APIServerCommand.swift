import APIServer
import Agent
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle

struct APIServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apiserver",
        abstract: "Run routelet's embedded, Kubernetes-compatible API server (kubectl works against it).",
        discussion: """
            Serves RouteTables, RouteletNodes and the built-ins the agent needs (Namespace, Node, Event, \
            Lease, Service, EndpointSlice), persisted in SQLite in --data-dir. On first start it generates \
            a bearer token and a CA with a server certificate (kept in --data-dir), and writes a kubeconfig \
            that kubectl can use as is: kubectl --kubeconfig PATH get rt.
            """
    )

    @OptionGroup var options: APIServerOptions

    @Option(help: "Log format: text or json.")
    var logFormat: LogFormatArgument = LogFormatArgument(.text)

    func run() async throws {
        logFormat.format.bootstrap(level: .info)
        let logger = Logger(label: "routelet.apiserver")
        let service = try APIServerService(configuration: try options.configuration(), logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// The API server's flags, shared by `apiserver` and `standalone`.
struct APIServerOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Address and port to listen on.", valueName: "host:port"))
    var listen = "127.0.0.1:6443"

    @Option(help: "Directory for the database, the token and the certificates (created if missing).")
    var dataDir: String

    @Option(help: "Write a kubeconfig for this server here.")
    var kubeconfigOut: String?

    @Flag(help: "Serve plain HTTP instead of HTTPS. For debugging only: the token and every object travel unencrypted.")
    var insecureHTTP = false

    @Option(help: ArgumentHelp("Interval of watch bookmarks, for clients that ask for them.", valueName: "duration"))
    var watchBookmarkInterval: DurationArgument = DurationArgument(.seconds(10))

    @Option(help: "Watch events kept for watches that resume from a resourceVersion; older ones get 410 Expired.")
    var watchHistory = 10_000

    @Option(help: "Write one JSON line per API call (verb, resource) to this file.")
    var requestLog: String?

    func configuration() throws -> APIServerConfiguration {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (1...65535).contains(port) else {
            throw ValidationError("--listen \(listen): expected host:port, like 127.0.0.1:6443")
        }
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return APIServerConfiguration(host: host, port: port, dataDirectory: dataDir, kubeconfigPath: kubeconfigOut,
                                      insecureHTTP: insecureHTTP, bookmarkInterval: watchBookmarkInterval.duration,
                                      historyLimit: watchHistory, requestLogPath: requestLog)
    }
}
