import Agent
import Dataplane
import DataplaneModel
import Foundation
import NetAddress
import NetLab
import Testing

/// Three agents over one API server (`ClusterLab`): they converge, the
/// aggregator survives its holder's kill -9, a rolling restart under traffic
/// loses nothing and writes nothing, and a node whose labels change leaves a
/// table's selection on that node only.
@Suite(.serialized) struct ClusterTests {
    let b = RouterLab.address(host: 2), a = RouterLab.address(host: 1)

    /// The cluster with its API server, Nodes, agents and the two tables of
    /// ``ClusterLab/tables(extraTransitRoutes:file:)``, converged: transit on 3/3 nodes, edge on 2/2.
    final class Running: @unchecked Sendable {
        // Sendable: `agents` is replaced only by the test's own task.
        let cluster: ClusterLab
        let server: RouteletProcess
        var agents: [RouteletProcess]

        init() throws {
            guard getuid() == 0 else { throw HarnessError("cluster tests need root (BPF, namespaces); run `make test` as root, as CI does") }
            let cluster = try ClusterLab()
            do {
                let server = try cluster.startAPIServer()
                try cluster.registerNodes()
                let agents = try cluster.nodes.indices.map { try cluster.startAgent($0, resync: "2s") }
                try cluster.apply(ClusterLab.tables())
                for (table, ready) in [("transit", "3/3"), ("edge", "2/2")] {
                    guard try waitUntil(30, every: 0.1, { try cluster.jsonpath("rt/\(table)", ".status.nodesReady") == ready }) != nil else {
                        throw HarnessError("rt/\(table) is not \(ready): \(try cluster.kubectl(["get", "rt", "-o", "yaml"]).stdout)\n"
                                           + agents.map(\.rawLog).joined(separator: "\n---\n"))
                    }
                }
                (self.cluster, self.server, self.agents) = (cluster, server, agents)
            } catch {
                cluster.delete()
                throw error
            }
        }

        func logs() -> String { agents.enumerated().map { "node-\($0 + 1):\n\($1.rawLog)" }.joined(separator: "\n---\n") }

        /// The installed routes of a node, from its pinned maps.
        func routes(_ index: Int) throws -> [RouteKey: RouteEntry] {
            try RouterMaps.openPinned(directory: cluster.nodes[index].pins).routes().routes
        }

        /// The table ID a node gave `table`, from its status.json.
        func tableID(_ index: Int, _ table: String) -> UInt32? {
            StatusReport.read(from: cluster.nodes[index].stateDir)?.tables.first { $0.name == table }?.tableID
        }

        /// Data-plane writes of an agent's passes (their log lines), from line `start` on.
        func writes(_ index: Int, from start: Int = 0) -> Int {
            agents[index].entries("pass done").dropFirst(start).compactMap { Int($0["writes"] ?? "") }.reduce(0, +)
        }
    }

    @Test func threeAgentsConvergeAndEachTableCountsTheNodesItSelects() throws {
        let running = try Running()
        let cluster = running.cluster
        defer { cluster.delete() }

        let nodes = try cluster.kubectl(["get", "rn", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type==\"Ready\")].status} {end}"])
        #expect(nodes.stdout.split(separator: " ").sorted() == ["node-1=True", "node-2=True", "node-3=True"], "\(nodes)")
        let tables = try cluster.kubectl(["get", "rt"]).stdout
        #expect(tables.contains(#/transit\s+\["ra","rb"\]\s+6\s+3/3\s+True/#), "\(tables)")
        #expect(tables.contains(#/edge\s+\["rc"\]\s+2\s+2/2\s+True/#), "\(tables)")

        for (index, node) in cluster.nodes.enumerated() {
            #expect(try Traffic.ping(from: node.lab.hostA, b.v4) == 3, "A -> B through \(node.name)")
            #expect(try Traffic.ping(from: node.lab.hostA, b.v6) == 3, "A -> B (IPv6) through \(node.name)")
            // C's traffic is routed by table edge, on the edge nodes only.
            let fromC = try Traffic.ping(from: node.lab.hostC, a.v4, count: 2)
            #expect(fromC == (index < 2 ? 2 : 0), "C -> A through \(node.name)")
        }
    }

    @Test func anotherAgentTakesTheAggregatorLeaseWhenItsHolderIsKilled() throws {
        let running = try Running()
        let cluster = running.cluster
        defer { cluster.delete() }
        var holder = ""
        #expect(try waitUntil(10, every: 0.1) { holder = try cluster.leaseHolder(); return !holder.isEmpty } != nil)
        let victim = try #require(cluster.nodes.firstIndex { $0.name == holder }, "holder \(holder)")

        // kill -9: no release; the others wait for the lease to lapse.
        running.agents[victim].stop(signal: SIGKILL)
        var successor = ""
        let takeover = waitUntil(15, every: 0.05) { successor = (try? cluster.leaseHolder()) ?? ""; return !successor.isEmpty && successor != holder }
        // The lease lasts 3 s from its last renewal (at most one 1-s renewal
        // period before the kill); a candidate checks every second.
        #expect(takeover.map { $0 < 5.5 } == true, "takeover after \(String(describing: takeover)) s; \(running.logs())")
        print("aggregator takeover after the holder's kill -9: \(String(format: "%.2f", takeover ?? -1)) s (lease 3 s)")

        // Status keeps being written: a new generation of transit is reported by
        // the new holder, with the dead node not at it.
        let changed = try ClusterLab.tables(extraTransitRoutes: ["{destination: 198.18.66.0/24, type: Blackhole}"])
        #expect(try cluster.kubectl(["apply", "-f", "-"], input: changed).status == 0)
        let reported = try waitUntil(15, every: 0.1) {
            try cluster.jsonpath("rt/transit", ".status.observedGeneration") == "2" && cluster.jsonpath("rt/transit", ".status.nodesReady") == "2/3"
        }
        let transit = try cluster.kubectl(["get", "rt", "transit", "-o", "yaml"]).stdout
        #expect(reported != nil, "\(transit)")
        let failing = try cluster.jsonpath("rt/transit", ".status.conditions[?(@.type==\"Programmed\")].message")
        #expect(failing.hasSuffix("generation 2 yet: \(holder)"), "the dead node is named: \(failing)")

        // Its agent comes back (as the DaemonSet restarts it): 3/3 again.
        running.agents[victim] = try cluster.startAgent(victim, resync: "2s")
        #expect(try waitUntil(15, every: 0.1) { try cluster.jsonpath("rt/transit", ".status.nodesReady") == "3/3" } != nil, "\(running.logs())")
        #expect(try cluster.leaseHolder() == successor, "the restarted agent does not take the lease back")
    }

    @Test func aRollingRestartUnderTrafficLosesNoPacketAndWritesNothing() throws {
        let running = try Running()
        let cluster = running.cluster
        defer { cluster.delete() }
        for node in cluster.nodes { #expect(try Traffic.ping(from: node.lab.hostA, b.v4, count: 1) == 1) }   // neighbours resolved

        // 100 pings a second through every node, for longer than the restarts take.
        let streams = try cluster.nodes.map { try $0.lab.hostA.start(["ping", "-n", "-q", "-c", "2000", "-i", "0.01", "-W", "1", b.v4]) }
        defer { streams.forEach { $0.stop() } }
        Thread.sleep(forTimeInterval: 0.5)
        for index in cluster.nodes.indices {
            running.agents[index].stop()
            running.agents[index] = try cluster.startAgent(index, resync: "2s")
            let pass = try running.agents[index].waitUntilConverged()
            #expect(pass["writes"] == "0", "\(cluster.nodes[index].name)'s restarted agent rewrote its state: \(pass)")
            #expect(running.agents[index].entries("data plane opened").first?["restored"] == "true")
        }
        #expect(streams.allSatisfy { $0.process.isRunning }, "the traffic ended before the last restart")
        for (node, stream) in zip(cluster.nodes, streams) {
            let result = stream.wait()
            #expect(result.stdout.contains("2000 packets transmitted, 2000 received"), "through \(node.name): \(result.stdout)")
        }
        // Their resyncs since: nothing to write either.
        for index in cluster.nodes.indices { #expect(running.writes(index) == 0, "\(running.agents[index].entries("pass done"))") }
        #expect(try cluster.jsonpath("rt/transit", ".status.nodesReady") == "3/3")
    }

    @Test func aNodeWhoseLabelsChangeLeavesTheSelectionThereOnly() throws {
        let running = try Running()
        let cluster = running.cluster
        defer { cluster.delete() }
        let edge = try #require(running.tableID(1, "edge"))
        let before = try cluster.nodes.indices.map { try running.routes($0) }
        #expect(before[1].keys.contains { $0.table == edge })
        let passes = cluster.nodes.indices.map { running.agents[$0].entries("pass done").count }

        #expect(try cluster.kubectl(["label", "node", "node-2", "role=core", "--overwrite"]).status == 0)
        #expect(try waitUntil(15, every: 0.1) { try cluster.jsonpath("rt/edge", ".status.nodesReady") == "1/1" } != nil, "\(running.logs())")
        #expect(try waitUntil(10) { try !running.routes(1).keys.contains { $0.table == edge } } != nil, "\(running.logs())")

        // node-2 kept table transit; node-1 and node-3 changed nothing.
        #expect(try running.routes(1) == before[1].filter { $0.key.table != edge })
        for index in [0, 2] {
            #expect(try running.routes(index) == before[index], "\(cluster.nodes[index].name)'s routes")
            #expect(running.writes(index, from: passes[index]) == 0, "\(running.agents[index].entries("pass done"))")
        }
        #expect(try Traffic.ping(from: cluster.nodes[1].lab.hostC, a.v4, count: 2) == 0, "node-2 no longer routes C's traffic")
        #expect(try Traffic.ping(from: cluster.nodes[0].lab.hostC, a.v4, count: 2) == 2)
        #expect(try Traffic.ping(from: cluster.nodes[1].lab.hostA, b.v4) == 3)
    }
}
