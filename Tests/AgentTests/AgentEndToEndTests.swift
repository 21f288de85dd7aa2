import Agent
import Dataplane
import Foundation
import NetAddress
import NetLab
import Testing

/// Polls `condition` every 10 ms for up to `timeout` seconds; returns the
/// seconds it took, or nil on timeout.
@discardableResult
func waitUntil(_ timeout: Double = 10, every interval: Double = 0.01, _ condition: () throws -> Bool) rethrows -> Double? {
    let start = Date()
    while Date().timeIntervalSince(start) < timeout {
        if try condition() { return Date().timeIntervalSince(start) }
        Thread.sleep(forTimeInterval: interval)
    }
    return nil
}

/// The route for `prefix` in the only table of the pinned maps.
func installedRoute(_ maps: RouterMaps, _ prefix: String) throws -> RouteEntry? {
    try maps.routes().routes.first { $0.key.prefix == IPPrefix(prefix)! }?.value
}

/// End to end, kernel forwarding off in the router: `routelet agent
/// --manifests` programs the lab, and the traffic shows it.
@Suite(.serialized) struct AgentEndToEndTests {
    let b = RouterLab.address(host: 2), c = RouterLab.address(host: 3)

    @Test func addingChangingAndDeletingRoutesAndTablesIsReflectedInTraffic() throws {
        let env = try AgentLab()
        defer { env.tearDown() }
        try env.write("lab.yaml", labTable())
        let agent = try env.startAgent()
        defer { agent.stop() }
        try agent.waitUntilConverged()
        #expect(try env.lab.kernelForwardingIsOff())
        #expect(try Traffic.ping(from: env.lab.hostA, b.v4) == 3)
        #expect(try Traffic.ping(from: env.lab.hostA, c.v6) == 3)
        #expect(env.status()?.tables.first?.programmed == true)

        // Change B's /24 into a blackhole: pings stop.
        try env.write("lab.yaml", labTable().replacingOccurrences(
            of: "{destination: 198.18.2.0/24, gateway: 198.18.2.2, interface: rb}", with: "{destination: 198.18.2.0/24, type: Blackhole}"))
        #expect(try waitUntil { try installedRoute(env.maps(), "198.18.2.0/24")?.action == .blackhole } != nil)
        #expect(try Traffic.ping(from: env.lab.hostA, b.v4, count: 2) == 0)

        // Add a route: the anycast address via C.
        try env.write("lab.yaml", labTable(extra: "- {destination: 198.20.0.0/24, gateway: 198.18.3.2, interface: rc}"))
        #expect(try waitUntil { try installedRoute(env.maps(), "198.20.0.0/24") != nil } != nil)
        #expect(try Traffic.ping(from: env.lab.hostA, RouterLab.anycastV4) == 3)
        #expect(try Traffic.ping(from: env.lab.hostA, b.v4) == 3, "B's route is back to Unicast")

        // Delete the whole table: routes gone, filters detached, kernel again (forwarding off: nothing crosses).
        try env.remove("lab.yaml")
        #expect(try waitUntil { try env.maps().routes().routes.isEmpty } != nil)
        #expect(try waitUntil { try env.lab.router.enter { try DataplaneState.read(maps: env.maps()).attachments.isEmpty } } != nil)
        #expect(try Traffic.ping(from: env.lab.hostA, b.v4, count: 2) == 0)
        let changes = agent.entries("table changed")
        #expect(changes.contains { $0["table"] == "lab" && $0["added"] == "6" }, "per-table change lines: \(changes)")
    }

    @Test func aLinkGoingDownFailsOverToTheBackupMetricAndBack() throws {
        let env = try AgentLab()
        defer { env.tearDown() }
        try env.write("lab.yaml", labTable(extra: """
            - {destination: 198.19.0.0/24, gateway: 198.18.2.2, interface: rb, metric: 10}
            - {destination: 198.19.0.0/24, gateway: 198.18.3.2, interface: rc, metric: 20}
            """))
        let agent = try env.startAgent()
        defer { agent.stop() }
        try agent.waitUntilConverged()
        let maps = try env.maps()
        let primary = try #require(try installedRoute(maps, "198.19.0.0/24"))
        #expect(try Traffic.ping(from: env.lab.hostA, RouterLab.serviceV4) == 3)

        func nextHopInterface() throws -> UInt32? {
            guard case .forward(let group) = try installedRoute(maps, "198.19.0.0/24")?.action else { return nil }
            return try maps.group(group)?.first?.ifindex
        }
        let rb = try #require(try env.lab.router.enter { Interfaces.index(of: "rb") })
        let rc = try #require(try env.lab.router.enter { Interfaces.index(of: "rc") })
        #expect(try nextHopInterface() == rb)

        // Timed from the moment the link goes down until the map holds the backup.
        let down = Date()
        try env.lab.router.setLink("rb", up: false)
        let failover = try waitUntil(5, every: 0.0002) { try nextHopInterface() == rc }.map { _ in Date().timeIntervalSince(down) }
        #expect(failover != nil, "no failover to rc within 5 s")
        print("failover to the backup route took \(String(format: "%.1f", (failover ?? 0) * 1000)) ms (link down -> map updated)")
        #expect(try installedRoute(maps, "198.19.0.0/24")?.id == primary.id, "same route id: counters continue")
        #expect(try Traffic.ping(from: env.lab.hostA, RouterLab.serviceV4) == 3, "traffic flows over the backup")

        let up = Date()
        try env.lab.router.setLink("rb", up: true)
        let back = try waitUntil(5, every: 0.0002) { try nextHopInterface() == rb }.map { _ in Date().timeIntervalSince(up) }
        #expect(back != nil, "no return to rb within 5 s")
        print("return to the primary route took \(String(format: "%.1f", (back ?? 0) * 1000)) ms (link up -> map updated)")
        #expect(try Traffic.ping(from: env.lab.hostA, RouterLab.serviceV4) == 3)
    }

    @Test func anInvalidEditLeavesTrafficAndTheMapsUntouched() throws {
        let env = try AgentLab()
        defer { env.tearDown() }
        try env.write("lab.yaml", labTable())
        let agent = try env.startAgent()
        defer { agent.stop() }
        try agent.waitUntilConverged()
        let before = try env.maps().routes().routes
        let stream = try env.lab.hostA.start(["ping", "-n", "-q", "-c", "100", "-i", "0.02", "-W", "1", b.v4])

        try env.write("lab.yaml", labTable(extra: "- {destination: 10.0.0.1/8, type: Blackhole}"))
        let warning = try agent.waitForLog("the invalid-input warning") { $0["msg"] == "invalid input" }
        #expect(warning["error"]?.contains(#"lab.yaml:13 (RouteTable lab): spec.routes[6].destination: "10.0.0.1/8" has host bits set; did you mean "10.0.0.0/8"?"#) == true,
                "\(warning)")
        let result = stream.wait()
        #expect(result.stdout.contains("100 packets transmitted, 100 received"), "\(result.stdout)")
        #expect(try env.maps().routes().routes == before)
        #expect(env.status()?.inputProblems.count == 1)
    }

    @Test func killMinusNineLosesNoPacketAndTheRestartWritesNothing() throws {
        let env = try AgentLab()
        defer { env.tearDown() }
        try env.write("lab.yaml", labTable())
        let first = try env.startAgent()
        try first.waitUntilConverged()
        #expect(try Traffic.ping(from: env.lab.hostA, b.v4, count: 1) == 1)   // neighbours resolved

        let stream = try env.lab.hostA.start(["ping", "-n", "-q", "-c", "300", "-i", "0.01", "-W", "1", b.v4])
        Thread.sleep(forTimeInterval: 0.5)
        first.stop(signal: SIGKILL)
        Thread.sleep(forTimeInterval: 0.5)
        let second = try env.startAgent()
        defer { second.stop() }
        let pass = try second.waitUntilConverged()
        let result = stream.wait()
        #expect(result.stdout.contains("300 packets transmitted, 300 received"), "\(result.stdout)")
        #expect(pass["writes"] == "0", "the restarted agent rewrote an unchanged table: \(pass)")
        #expect(second.entries("data plane opened").first?["restored"] == "true")
    }

    @Test func driftIsRepairedWithinOneResyncPeriod() throws {
        let env = try AgentLab()
        defer { env.tearDown() }
        try env.write("lab.yaml", labTable())
        let agent = try env.startAgent(resync: "1s")
        defer { agent.stop() }
        try agent.waitUntilConverged()
        let maps = try env.maps()
        waitUntil(5) { env.status() != nil }
        let table = try #require(env.status()?.tables.first?.tableID)
        let victim = RouteKey(table: table, prefix: IPPrefix("198.18.3.0/24")!)
        let entry = try #require(try maps.route(victim))

        // Behind the agent's back: delete a route with bpftool, the filter
        // on rb with tc, and plant a route of our own.
        let key = withUnsafeBytes(of: UInt32(56).littleEndian, Array.init) + withUnsafeBytes(of: table.littleEndian, Array.init) + [198, 18, 3, 0]
        try Command.run(["bpftool", "map", "delete", "pinned", "\(env.pins)/rl_routes_v4", "key"] + key.map(String.init))
        try env.lab.router.run(["tc", "filter", "del", "dev", "rb", "ingress", "pref", "1", "handle", "0x726c", "bpf"])
        let planted = RouteKey(table: table, prefix: IPPrefix("198.18.77.0/24")!)
        try maps.setRoute(planted, RouteEntry(id: 4242, action: .blackhole))
        #expect(try maps.route(victim) == nil)

        let repaired = try waitUntil(3) {
            let state = try env.lab.router.enter { try DataplaneState.read(maps: maps) }
            let rb = try env.lab.router.enter { Interfaces.index(of: "rb") } ?? 0
            return state.routes[victim] == entry && state.attachments[rb] != nil && state.routes[planted] == nil
        }
        #expect(repaired != nil, "drift not repaired within 3 s (resync 1 s)")
        #expect(try Traffic.ping(from: env.lab.hostA, c.v4) == 3)
    }

    @Test func aManifestChangedWhileTheAgentIsDownIsAppliedWithOnlyTheDifference() throws {
        let env = try AgentLab()
        defer { env.tearDown() }
        try env.write("lab.yaml", labTable())
        let first = try env.startAgent()
        try first.waitUntilConverged()
        first.stop()

        try env.write("lab.yaml", labTable(extra: "- {destination: 198.18.66.0/24, type: Blackhole}"))
        let second = try env.startAgent()
        defer { second.stop() }
        let pass = try second.waitUntilConverged()
        // One new route: its entry (its counter comes with its first packet). Nothing else.
        #expect(pass["writes"] == "1", "\(pass)")
        #expect(try installedRoute(env.maps(), "198.18.66.0/24")?.action == .blackhole)
        #expect(try Traffic.ping(from: env.lab.hostA, b.v4) == 3)
    }
}
