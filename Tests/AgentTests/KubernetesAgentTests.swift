import Dataplane
import Foundation
import NetLab
import Synchronization
import Testing

/// `routelet agent --kubeconfig` and `routelet apiserver` as two processes
/// in the lab's router namespace, so that the API server can go away while
/// the agent runs, and the agent can start while the API server is away.
@Suite(.serialized) struct KubernetesAgentTests {
    let b = RouterLab.address(host: 2)

    /// `routelet apiserver` in the lab's router namespace, once it listens.
    func startAPIServer(_ env: AgentLab) throws -> AgentProcess {
        let apiserver = try AgentProcess(namespace: env.lab.router, arguments: [
            "apiserver", "--listen", "127.0.0.1:6443", "--data-dir", "\(env.stateDir)/api", "--kubeconfig-out", env.kubeconfig,
        ])
        try apiserver.waitForLog("the API server") { $0["msg"] == "API server listening" }
        return apiserver
    }

    @Test func theDataPlaneOutlivesTheAPIServerAndNothingIsPrunedBeforeTheFirstList() throws {
        let env = try AgentLab()
        defer { env.tearDown() }
        var apiserver = try startAPIServer(env)
        defer { apiserver.stop() }
        let agentArguments = ["agent", "--kubeconfig", env.kubeconfig, "--node-name", "lab-router", "--bpffs-dir", env.pins,
                              "--state-dir", env.stateDir, "--resync-period", "500ms"]
        var agent = try AgentProcess(namespace: env.lab.router, arguments: agentArguments)
        defer { agent.stop() }
        try agent.waitForLog("the data plane") { $0["msg"] == "data plane opened" }

        #expect(try env.kubectl(["apply", "-f", "-"], input: labTable()).status == 0)
        #expect(try waitUntil { try installedRoute(env.maps(), "198.18.2.0/24") != nil } != nil, "\(agent.rawLog)")
        // One agent, no Node object: it still writes its RouteletNode and, as the aggregator, the table's status.
        // Written after the pass, so after the filters too (a pass writes routes before it binds and attaches).
        #expect(try waitUntil { try env.jsonpath("rn/lab-router", ".status.summary.routesInstalled") == "6" } != nil, "\(agent.rawLog)")
        #expect(try Traffic.ping(from: env.lab.hostA, b.v4) == 3)

        // The API server goes away: the data plane stays, and resyncs keep it.
        apiserver.stop(signal: SIGKILL)
        Thread.sleep(forTimeInterval: 2)
        #expect(try Traffic.ping(from: env.lab.hostA, b.v4) == 3)
        #expect(agent.process.isRunning)

        // The agent restarts while the API server is still away: it has no
        // full list, so it removes nothing from the pinned state.
        agent.stop()
        let routes = try env.maps().routes().routes
        agent = try AgentProcess(namespace: env.lab.router, arguments: agentArguments)
        try agent.waitForLog("a retried list") { $0["msg"]?.contains("list of routetables.routelet.dev failed") == true }
        Thread.sleep(forTimeInterval: 1.5)
        #expect(try env.maps().routes().routes == routes, "nothing pruned before the first list")
        #expect(try Traffic.ping(from: env.lab.hostA, b.v4) == 3)

        // The API server is back, without the table: the agent lists, and only now removes it.
        apiserver = try startAPIServer(env)
        #expect(try env.kubectl(["delete", "rt", "lab"]).status == 0)
        #expect(try waitUntil(20) { try env.maps().routes().routes.isEmpty } != nil, "\(agent.rawLog)")
        #expect(agent.entries("source synced: removals enabled").count == 1)
        // The second agent ran about 3 s without an API server: its retries
        // back off (0.8 s doubling per watch), no hot loop.
        let metrics = try PrometheusText(try env.scrape("/metrics").stdout)
        let failed = metrics.samples.filter { $0.name == "routelet_kube_requests_total" && $0.labels["code"] == "error" }
            .map(\.value).reduce(0, +)
        #expect(failed >= 1 && failed <= 15, "requests that found no API server: \(failed)")
    }

    @Test func aStoppingAgentHandsTheAggregatorLeaseOver() throws {
        let env = try AgentLab()
        defer { env.tearDown() }
        let apiserver = try startAPIServer(env)
        defer { apiserver.stop() }
        let agent = try AgentProcess(namespace: env.lab.router, arguments: [
            "agent", "--kubeconfig", env.kubeconfig, "--node-name", "lab-router", "--bpffs-dir", env.pins,
            "--state-dir", env.stateDir, "--metrics-addr", "127.0.0.1:19464",
        ])
        defer { agent.stop() }
        let holder = "{.spec.holderIdentity}"
        #expect(try waitUntil {
            try env.kubectl(["get", "lease", "-n", "routelet-system", "routelet-aggregator", "-o", "jsonpath=\(holder)"]).stdout == "lab-router"
        } != nil, "\(agent.rawLog)")

        // SIGTERM, as in a rolling update: the next agent need not wait 15 s.
        agent.stop(signal: SIGTERM)
        #expect(try env.kubectl(["get", "lease", "-n", "routelet-system", "routelet-aggregator", "-o", "jsonpath=\(holder)"]).stdout == "",
                "\(agent.rawLog)")
        #expect(agent.entries("aggregator lease released").count == 1)
        // A stop, not a failure: exit 0 and nothing logged as an error (the
        // reconcile loop's cancelled sleeps, the metrics server's drain).
        #expect(agent.process.terminationStatus == 0, "\(agent.rawLog)")
        #expect(agent.log.filter { $0["level"] == "error" }.isEmpty, "\(agent.rawLog)")
    }

    @Test func aStoppingAPIServerEndsItsWatchesAndExitsCleanly() throws {
        let env = try AgentLab()
        defer { env.tearDown() }
        let apiserver = try startAPIServer(env)
        defer { apiserver.stop() }
        // A watch open, as every agent keeps them, when SIGTERM comes.
        let watchEnded = DispatchSemaphore(value: 0)
        let watch = Mutex<(status: Int32, stdout: String, stderr: String)?>(nil)
        Thread.detachNewThread {
            let result = try? env.kubectl(["get", "namespaces", "--watch", "--request-timeout", "60s"])
            watch.withLock { $0 = result }
            watchEnded.signal()
        }
        #expect(try waitUntil { try env.kubectl(["get", "namespaces"]).stdout.contains("routelet-system") } != nil)
        Thread.sleep(forTimeInterval: 1)
        apiserver.stop(signal: SIGTERM)
        #expect(apiserver.process.terminationStatus == 0, "\(apiserver.rawLog)")
        #expect(apiserver.log.filter { $0["level"] == "error" }.isEmpty, "\(apiserver.rawLog)")
        #expect(watchEnded.wait(timeout: .now() + 10) == .success, "the watch outlived its server")
        #expect(watch.withLock { $0?.stdout.contains("routelet-system") } == true, "\(String(describing: watch.withLock { $0 }))")
    }
}
