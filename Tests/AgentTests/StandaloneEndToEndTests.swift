import Agent
import Dataplane
import Foundation
import JSONValue
import NetLab
import Testing

/// End to end with `routelet standalone` in the lab's router namespace:
/// kubectl in, forwarded packets and status out. The agent reaches the
/// embedded API server over HTTPS on loopback, like any client.
@Suite(.serialized) struct StandaloneEndToEndTests {
    let b = RouterLab.address(host: 2), c = RouterLab.address(host: 3)

    @Test func kubectlApplyForwardsTrafficAndReportsProgrammedStatus() throws {
        let env = try AgentLab()
        defer { env.tearDown() }
        let standalone = try env.startStandalone()
        defer { standalone.stop() }

        let applied = try env.kubectl(["apply", "-f", "-"], input: labTable())
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(try waitUntil { try installedRoute(env.maps(), "198.18.2.0/24") != nil } != nil, "\(standalone.rawLog)")
        // The status comes after the pass, so after the filters too (a pass
        // writes routes before it binds and attaches).
        #expect(try waitUntil { try env.jsonpath("rt/lab", ".status.nodesReady") == "1/1" } != nil, "\(standalone.rawLog)")
        #expect(try Traffic.ping(from: env.lab.hostA, b.v4) == 3)
        #expect(try Traffic.ping(from: env.lab.hostA, c.v6) == 3)

        #expect(try env.jsonpath("rt/lab", #".status.conditions[?(@.type=="Programmed")].status"#) == "True")
        #expect(try env.jsonpath("rt/lab", #".status.conditions[?(@.type=="Accepted")].status"#) == "True")
        let table = try env.kubectl(["get", "rt"]).stdout
        #expect(table.contains("1/1") && table.contains("True"), "kubectl get rt:\n\(table)")
        #expect(try waitUntil { try env.jsonpath("rn/lab-router", #".status.conditions[?(@.type=="Ready")].status"#) == "True" } != nil)
        #expect(try env.jsonpath("rn/lab-router", ".status.summary.routesInstalled") == "6")

        // An edit: B's /24 becomes a blackhole, and the status follows the new generation.
        let edited = try env.kubectl(["apply", "-f", "-"], input: labTable().replacingOccurrences(
            of: "{destination: 198.18.2.0/24, gateway: 198.18.2.2, interface: rb}", with: "{destination: 198.18.2.0/24, type: Blackhole}"))
        #expect(edited.status == 0, "\(edited.stderr)")
        #expect(try waitUntil { try installedRoute(env.maps(), "198.18.2.0/24")?.action == .blackhole } != nil)
        #expect(try Traffic.ping(from: env.lab.hostA, b.v4, count: 2) == 0)
        #expect(try waitUntil { try env.jsonpath("rt/lab", ".status.observedGeneration") == "2" } != nil, "\(standalone.rawLog)")
        #expect(try waitUntil {
            try env.jsonpath("rt/lab", #".status.conditions[?(@.type=="Programmed")].observedGeneration"#) == "2"
        } != nil)

        // Deleting the table removes its routes and detaches the program.
        #expect(try env.kubectl(["delete", "rt", "lab"]).status == 0)
        #expect(try waitUntil { try env.maps().routes().routes.isEmpty } != nil)
        #expect(try waitUntil { try env.lab.router.enter { try DataplaneState.read(maps: env.maps()).attachments.isEmpty } } != nil)
        #expect(try waitUntil { try env.jsonpath("rn/lab-router", ".status.summary.tables") == "0" } != nil)
    }

    @Test func aMissingInterfaceIsReportedOnTheRouteTableAndTheRouteletNode() throws {
        let env = try AgentLab()
        defer { env.tearDown() }
        let standalone = try env.startStandalone()
        defer { standalone.stop() }

        let ghost = """
            apiVersion: routelet.dev/v1alpha1
            kind: RouteTable
            metadata: {name: ghost}
            spec:
              nodeSelector: {matchLabels: {role: router}}
              interfaces: [eth9]
              routes:
              - {destination: 192.0.2.0/24, type: Blackhole}
            """
        #expect(try env.kubectl(["apply", "-f", "-"], input: ghost).status == 0)
        let programmed = #".status.conditions[?(@.type=="Programmed")]"#
        #expect(try waitUntil { try env.jsonpath("rt/ghost", "\(programmed).reason") == "NodeErrors" } != nil, "\(standalone.rawLog)")
        #expect(try env.jsonpath("rt/ghost", "\(programmed).status") == "False")
        #expect(try env.jsonpath("rt/ghost", "\(programmed).message").contains("eth9"))
        #expect(try env.jsonpath("rt/ghost", ".status.failingNodes[0].reason") == "InterfaceNotFound")
        #expect(try env.jsonpath("rt/ghost", ".status.nodesReady") == "0/1")

        let nodeTable = #".status.tables[?(@.name=="ghost")].conditions[?(@.type=="Programmed")]"#
        #expect(try env.jsonpath("rn/lab-router", "\(nodeTable).reason") == "InterfaceNotFound")
        #expect(try env.jsonpath("rn/lab-router", "\(nodeTable).status") == "False")
        #expect(try env.jsonpath("rn/lab-router", #".status.conditions[?(@.type=="Ready")].status"#) == "False")

        // kubectl describe shows why, through an Event on the table.
        #expect(try waitUntil { try env.kubectl(["get", "events", "-n", "default"]).stdout.contains("InterfaceNotFound") } != nil)

        // A table selecting other nodes only is not this node's business.
        let elsewhere = ghost.replacingOccurrences(of: "name: ghost", with: "name: elsewhere")
            .replacingOccurrences(of: "role: router", with: "role: spine")
        #expect(try env.kubectl(["apply", "-f", "-"], input: elsewhere).status == 0)
        #expect(try waitUntil { try env.jsonpath("rt/elsewhere", programmed + ".reason") == "NoNodesSelected" } != nil)
        #expect(try env.jsonpath("rt/elsewhere", ".status.nodesReady") == "0/0")
    }

    @Test func anIdleAgentWritesNothingOverSeveralResyncs() throws {
        let env = try AgentLab()
        defer { env.tearDown() }
        let requests = "\(env.stateDir)/requests.jsonl"
        let standalone = try env.startStandalone(resync: "300ms", extra: ["--request-log", requests, "--log-level", "debug"])
        defer { standalone.stop() }
        #expect(try env.kubectl(["apply", "-f", "-"], input: labTable()).status == 0)
        #expect(try waitUntil { try env.jsonpath("rt/lab", ".status.nodesReady") == "1/1" } != nil, "\(standalone.rawLog)")

        func statusWrites() throws -> [String] {
            try String(contentsOfFile: requests, encoding: .utf8).split(separator: "\n").filter { line in
                ["\"create\"", "\"update\"", "\"patch\"", "\"delete\""].contains { line.contains($0) }
                    && !line.contains("\"leases\"")
            }.map(String.init)
        }
        func resyncs() -> Int { standalone.entries("pass done").filter { $0["trigger"] == "resync" }.count }

        // The first writes (node, table status) settle: counted in passes,
        // not seconds, so that a slow machine waits longer rather than
        // failing. Settled is two resyncs in a row without a write (one
        // whole resync period, whichever pass was running at the start).
        var before = try statusWrites()
        var settled = false
        for _ in 0..<20 {
            let start = resyncs()
            guard waitUntil(60, { resyncs() >= start + 2 }) != nil else { break }
            let now = try statusWrites()
            if now == before { settled = true; break }
            before = now
        }
        try #require(settled, "no two resyncs without a write (20 tries, up to 60 s each); the last writes: \(before.suffix(5))\n\(standalone.rawLog)")

        // Idle: five more resyncs, however long they take, write nothing.
        let resyncsBefore = resyncs()
        let waited = waitUntil(120) { resyncs() - resyncsBefore >= 5 }
        let after = try statusWrites()
        let passes = resyncs() - resyncsBefore
        #expect(waited != nil, "full passes while idle: \(passes) in 120 s, not 5")
        #expect(after == before, "writes while idle, over \(passes) resyncs: \(after.dropFirst(before.count))")
    }
}
