import APIServer
import Agent
import ArgumentParser
import Foundation
import JSONValue
import KubeClient
import Logging
import ServiceLifecycle

struct StandaloneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "standalone",
        abstract: "Run the embedded API server and the agent in one process: routelet on a single machine.",
        discussion: """
            The API server serves RouteTables and RouteletNodes over HTTPS (kubectl works with the \\
            kubeconfig written to --kubeconfig-out); the agent talks to it over the network through \\
            the same client it uses in a cluster, registers this machine as a Node with --node-labels, \\
            programs the RouteTables that select it, and reports status on the RouteletNode and on \\
            each RouteTable:

              routelet standalone --data-dir /var/lib/routelet --kubeconfig-out ./kubeconfig
              kubectl --kubeconfig ./kubeconfig apply -f manifests/examples/
              kubectl --kubeconfig ./kubeconfig get rt,rn
            """
    )

    @OptionGroup var server: APIServerOptions
    @OptionGroup var agent: AgentOptions

    @Option(help: ArgumentHelp("Labels of this machine's Node object, for nodeSelector: k=v,k2=v2.", valueName: "labels"))
    var nodeLabels: String = ""

    func validate() throws {
        _ = try parseLabels(nodeLabels)
        try agent.validate()
        _ = try server.configuration()
    }

    func run() async throws {
        agent.bootstrapLogging()
        let logger = Logger(label: "routelet.standalone")
        let apiserver = try APIServerService(configuration: try server.configuration(), logger: Logger(label: "routelet.apiserver"))
        let config = try KubeConfig.parse(Data(apiserver.localKubeconfig.utf8), path: "(standalone)")
        let client = KubeClient(config: config, userAgent: agent.userAgent)
        let configuration = agent.configuration()
        let agentLogger = Logger(label: "routelet.agent")
        logger.info("routelet standalone starting", metadata: [
            "version": "\(RouteletVersion.string)", "node": "\(configuration.nodeName)", "api": "\(config.server)",
        ])
        let health = AgentHealth()
        let metrics = try agent.metricsServices(health: health, logger: agentLogger) + agent.gatewayServices(health: health, logger: agentLogger)
        let agentServices = agent.kubernetesServices(
            configuration: configuration, client: client, configNamespace: nil,
            facts: try NetlinkNodeFacts(logger: agentLogger), health: health, logger: agentLogger)
        // What a kubelet would do here is not the agent's business: its own
        // client, with its own User-Agent, so that the request log (and the
        // RBAC test reading it) tells the two apart.
        let hostClient = KubeClient(config: config, userAgent: "routelet-standalone/\(RouteletVersion.string)")
        let registration = NodeRegistration(client: hostClient, name: configuration.nodeName, labels: try parseLabels(nodeLabels), logger: logger)
        let agentSide = AfterServerReady(client: hostClient, services: [registration] + agentServices.map(\.service), logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: apiserver), .init(service: agentSide)] + metrics,
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Runs `services` once the API server of this process answers, so the
/// agent's first requests do not fail and back off while it starts.
struct AfterServerReady: Service {
    let client: KubeClient
    let services: [any Service]
    let logger: Logger

    func run() async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            do {
                try await client.send("GET", "/readyz")
                break
            } catch {
                guard ContinuousClock.now < deadline else {
                    throw ValidationError("the embedded API server did not answer within 30 s: \(error)")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        try await withThrowingDiscardingTaskGroup { group in
            for service in services {
                group.addTask { try await service.run() }
            }
        }
    }
}

/// Registers this machine's Node object the way a kubelet does: created
/// when missing, its routelet-given labels kept as configured. Retries
/// until the API server answers (it starts in the same process).
struct NodeRegistration: Service {
    let client: KubeClient
    let name: String
    let labels: [String: String]
    let logger: Logger

    func run() async throws {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5))
        while !Task.isCancelled {
            do {
                try await register()
                break
            } catch {
                let delay = backoff.next()
                if backoff.failures > 3 {
                    logger.warning("cannot register the Node yet; retrying", metadata: ["node": "\(name)", "error": "\(error)"])
                }
                try await Task.sleep(for: delay)
            }
        }
        // Stay for the group's lifetime: a Service that returns ends the group.
        try await gracefulShutdown()
    }

    private func register() async throws {
        var allLabels = labels
        allLabels["kubernetes.io/hostname"] = name
        allLabels["kubernetes.io/os"] = "linux"
        let labelValue = JSONValue.object(JSONObject(allLabels.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }))
        do {
            _ = try await client.patch(.nodes, name: name, merge: ["metadata": ["labels": labelValue]])
            logger.info("Node updated", metadata: ["node": "\(name)", "labels": "\(allLabels)"])
        } catch let error as KubeError where error.isNotFound {
            _ = try await client.create(.nodes, [
                "apiVersion": "v1", "kind": "Node",
                "metadata": ["name": .string(name), "labels": labelValue],
            ])
            logger.info("Node registered", metadata: ["node": "\(name)", "labels": "\(allLabels)"])
        }
    }
}
