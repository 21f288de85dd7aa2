import Dataplane
import Foundation
import NetAddress
import NetLab
import Testing

/// ECMP over three next hops (B, C, D) through `routelet agent`: a next hop
/// whose link goes down leaves the group, the flows of the two that stay
/// keep their path, and when the link comes back every flow returns to the
/// path it had. The one that fails is C, in the middle of the group's list,
/// so that a pick by place in the list (D moving up to C's) would show.
@Suite(.serialized) struct ResilientECMPTests {
    static let flows = 64, packets = 3
    static let gateways = (2...4).map { RouterLab.address(host: $0) }

    static let table = """
        apiVersion: routelet.dev/v1alpha1
        kind: RouteTable
        metadata: {name: ecmp}
        spec:
          interfaces: [ra, rb, rc, rd]
          routes:
        \((1...4).map { "  - {destination: 198.18.\($0).0/24, interface: \(["ra", "rb", "rc", "rd"][$0 - 1])}" }.joined(separator: "\n"))
        \((1...4).map { "  - {destination: \"2001:db8:\($0)::/64\", interface: \(["ra", "rb", "rc", "rd"][$0 - 1])}" }.joined(separator: "\n"))
          - destination: 198.19.0.0/24
            nexthops: [{gateway: \(gateways[0].v4), interface: rb}, {gateway: \(gateways[1].v4), interface: rc}, {gateway: \(gateways[2].v4), interface: rd}]
          - destination: "2001:db8:99::/64"
            nexthops: [{gateway: "\(gateways[0].v6)", interface: rb}, {gateway: "\(gateways[1].v6)", interface: rc}, {gateway: "\(gateways[2].v6)", interface: rd}]
        """

    /// For one service address: the next-hop host (0: B, 1: C, 2: D) each
    /// flow (source port) arrived at. Records an issue for a flow that was
    /// lost, split, or arrived incomplete.
    static func paths(_ env: AgentLab, service: String) throws -> [Int: Int] {
        // 4 s: a host that gets nothing (C while its link is down) stops waiting then.
        let counters = try env.lab.nextHopHosts.map { try Traffic.udpCounter(in: $0, address: service, seconds: 4) }
        for host in env.lab.nextHopHosts { try Traffic.waitForUDPListener(in: host, port: 9000) }
        try Traffic.udpFlows(from: env.lab.hostA, to: service, flows: flows, packetsPerFlow: packets)
        var paths: [Int: Int] = [:]
        for (index, counter) in counters.enumerated() {
            for (port, count) in Traffic.udpCounts(counter.wait().stdout) {
                if let other = paths[port] { Issue.record("\(service): flow \(port) split over hosts \(other) and \(index)") }
                if count != packets { Issue.record("\(service): flow \(port) delivered \(count) of \(packets) packets") }
                paths[port] = index
            }
        }
        #expect(paths.count == flows, "\(service): \(paths.count) of \(flows) flows arrived")
        return paths
    }

    /// The number of next hops in the group the prefix's route points to.
    static func hopCount(_ env: AgentLab, _ prefix: String) throws -> Int? {
        let maps = try env.maps()
        guard case .forward(let group) = try installedRoute(maps, prefix)?.action else { return nil }
        return try maps.group(group)?.count
    }

    /// Pings every next hop's host once from A, both families: the router
    /// resolves its neighbours before the flows are counted.
    static func warmUp(_ env: AgentLab) throws {
        for address in gateways.flatMap({ [$0.v4, $0.v6] }) {
            #expect(try Traffic.ping(from: env.lab.hostA, address, count: 1) == 1, "warm-up ping to \(address)")
        }
    }

    @Test func aDeadNextHopsFlowsMoveAndTheOthersKeepTheirPathBothWays() throws {
        let env = try AgentLab(nextHops: 3)
        defer { env.tearDown() }
        try env.write("ecmp.yaml", Self.table)
        let agent = try env.startAgent()
        defer { agent.stop() }
        try agent.waitUntilConverged()
        try Self.warmUp(env)
        let services = [RouterLab.serviceV4, RouterLab.serviceV6]
        let prefixes = ["198.19.0.0/24", "2001:db8:99::/64"]
        let before = try services.map { try Self.paths(env, service: $0) }
        for (service, paths) in zip(services, before) {
            let spread = (0..<3).map { host in paths.values.filter { $0 == host }.count }
            print("\(service): \(Self.flows) flows over B, C, D: \(spread)")
            #expect(spread.allSatisfy { $0 > 0 }, "\(service): every next hop carries flows: \(spread)")
        }

        /// Sets C's link and times it until both groups hold `hops` next hops.
        func flapC(up: Bool, hops: Int) throws {
            let start = Date()
            try env.lab.router.setLink("rc", up: up)
            let took = try waitUntil(5, every: 0.0002) { try prefixes.allSatisfy { try Self.hopCount(env, $0) == hops } }
                .map { _ in Date().timeIntervalSince(start) }
            #expect(took != nil, "the groups do not have \(hops) next hops 5 s after C's link went \(up ? "up" : "down")")
            print("C's link \(up ? "up" : "down"): both ECMP groups have \(hops) next hops after \(String(format: "%.1f", (took ?? 0) * 1000)) ms")
        }

        // C's link goes down.
        try flapC(up: false, hops: 2)
        let leftOut = ["InterfaceDown: 198.19.0.0/24: interface rc is down", "InterfaceDown: 2001:db8:99::/64: interface rc is down"]
        #expect(waitUntil(5) { env.status()?.tables.first?.nextHopsLeftOut == leftOut } != nil,
                "the status names the next hops left out: \(String(describing: env.status()?.tables.first))")
        // Only C's own subnets, which have no other next hop, are down.
        #expect(env.status()?.tables.first?.problems == ["InterfaceDown: 198.18.3.0/24: interface rc is down",
                                                         "InterfaceDown: 2001:db8:3::/64: interface rc is down"],
                "\(String(describing: env.status()?.tables.first?.problems))")

        let during = try services.map { try Self.paths(env, service: $0) }
        for (index, service) in services.enumerated() {
            let stayed = before[index].filter { $0.value != 1 }
            let moved = stayed.filter { during[index][$0.key] != $0.value }
            #expect(moved.isEmpty, "\(service): flows of B and D changed path when C left: \(moved.keys.sorted())")
            #expect(!during[index].values.contains(1), "\(service): a flow still reached C")
            print("\(service): C down: \(stayed.count - moved.count) of \(stayed.count) flows of B and D kept their path, "
                  + "\(before[index].count - stayed.count) of C's moved")
        }

        // C comes back: every flow returns to the path it had.
        try flapC(up: true, hops: 3)
        try Self.warmUp(env)   // the link's neighbour entries went with it
        let after = try services.map { try Self.paths(env, service: $0) }
        for (index, service) in services.enumerated() {
            let changed = before[index].filter { after[index][$0.key] != $0.value }
            #expect(changed.isEmpty, "\(service): flows on another path than before C left: \(changed.keys.sorted())")
        }
        #expect(waitUntil(5) { env.status()?.tables.first.map { $0.nextHopsLeftOut == nil } ?? false } != nil,
                "\(String(describing: env.status()?.tables.first))")
    }

    /// The group value of `id` as bpftool prints it (hex bytes).
    static func groupBytes(_ env: AgentLab, _ id: UInt32) throws -> [String] {
        let key = withUnsafeBytes(of: id.littleEndian) { $0.map(String.init) }
        let output = try Command.run(["bpftool", "-j", "map", "lookup", "pinned", "\(env.pins)/rl_groups", "key"] + key)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        return try #require(object["value"] as? [String])
    }

    @Test func aBucketTableChangedBehindTheAgentsBackIsRewrittenAtTheNextResync() throws {
        let env = try AgentLab(nextHops: 3)
        defer { env.tearDown() }
        try env.write("ecmp.yaml", Self.table)
        let agent = try env.startAgent(resync: "1s")
        defer { agent.stop() }
        try agent.waitUntilConverged()
        let maps = try env.maps()
        guard case .forward(let group) = try #require(try installedRoute(maps, "198.19.0.0/24")).action else {
            Issue.record("the ECMP route does not forward")
            return
        }
        let original = try Self.groupBytes(env, group)
        #expect(try env.lab.router.enter { try DataplaneState.read(maps: maps).damagedGroups }.isEmpty)

        // Every bucket to the first next hop, with bpftool: the next hops
        // are unchanged, so only the buckets tell.
        let bucketsAt = 8 + 28 * 16
        var damaged = original
        for index in bucketsAt..<damaged.count { damaged[index] = "0x00" }
        let key = withUnsafeBytes(of: group.littleEndian) { $0.map(String.init) }
        try Command.run(["bpftool", "map", "update", "pinned", "\(env.pins)/rl_groups", "key"] + key + ["value"] + damaged)
        #expect(try Self.groupBytes(env, group) == damaged)

        let repaired = try waitUntil(3) { try Self.groupBytes(env, group) == original }
        #expect(repaired != nil, "the bucket table was not rewritten within 3 s (resync 1 s)")
        #expect(try installedRoute(maps, "198.19.0.0/24")?.action == .forward(group: group), "rewritten in place, same group")
        #expect(try env.lab.router.enter { try DataplaneState.read(maps: maps).damagedGroups }.isEmpty)
    }
}
