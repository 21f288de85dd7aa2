import Dataplane
import Foundation
import NetAddress
import NetLab
import Testing

private let TC_ACT_OK: Int32 = 0
private let TC_ACT_SHOT: Int32 = 2
private let TC_ACT_REDIRECT: Int32 = 7

/// What a test run should do with one packet.
private enum Expect {
    /// Redirected, with TTL / hop limit one less and a valid checksum.
    case forwarded(route: String)
    case dropped(route: String?)
    /// Handed to the kernel unchanged.
    case passed(Reason, route: String? = nil)
}

private struct Case: CustomStringConvertible {
    var description: String
    var ingress: UInt32
    var packet: [UInt8]
    var expect: Expect
}

private func v4(_ destination: String, ttl: UInt8 = 64, configure: (inout Packet) -> Void = { _ in }) -> [UInt8] {
    var packet = Packet(from: "172.16.0.10", to: destination)
    packet.ttl = ttl
    configure(&packet)
    return packet.bytes
}

/// `packet` with the byte at each offset replaced.
private func patched(_ packet: [UInt8], at offset: Int, to value: UInt8, _ more: Int...) -> [UInt8] {
    var packet = packet
    packet[offset] = value
    for pair in stride(from: 0, to: more.count - 1, by: 2) { packet[more[pair]] = UInt8(more[pair + 1]) }
    return packet
}

private func v6(_ destination: String, hopLimit: UInt8 = 64, configure: (inout Packet) -> Void = { _ in }) -> [UInt8] {
    var packet = Packet(from: "2001:db8:aaaa::10", to: destination)
    packet.ttl = hopLimit
    configure(&packet)
    return packet.bytes
}

/// BPF_PROG_TEST_RUN over crafted packets: verdicts, rewritten headers and
/// counters, without a network. Runs in a namespace of its own whose veth
/// interfaces are the egress devices (bpf_check_mtu looks them up).
@Suite(.serialized) struct RouterProgramTests {
    @Test func routesVerdictsHeadersAndCountersForEveryCase() throws {
        let pins = try TestPins()
        defer { pins.remove() }
        let lab = try TestNamespaces(["prog"])
        defer { lab.delete() }
        let ns = lab[0]
        try ns.ip("link add out1 mtu 1500 type veth peer name out1p")
        try ns.ip("link add out2 mtu 1500 type veth peer name out2p")
        try ns.ip("link set out1 up")
        try ns.ip("link set out2 up")

        try ns.enter {
            let dataplane = try Dataplane(pinDirectory: pins.directory)
            let maps = dataplane.maps
            let out1 = try #require(Interfaces.index(of: "out1"))
            let out2 = try #require(Interfaces.index(of: "out2"))

            // Table 1 on (fake) ingress 101, table 2 on 102; 103 is unbound.
            try maps.bind(ifindex: 101, table: 1)
            try maps.bind(ifindex: 102, table: 2)
            try maps.setGroup(1, [NextHop(ifindex: out1, gateway: IPAddress("192.0.2.1"))])
            try maps.setGroup(2, [NextHop(ifindex: out2, gateway: IPAddress("192.0.2.2"))])
            try maps.setGroup(3, [NextHop(ifindex: out1, gateway: IPAddress("2001:db8:ffff::1"))])
            try maps.setGroup(4, [NextHop(ifindex: out2, gateway: nil)])
            try maps.setGroup(5, [NextHop(ifindex: out1, gateway: IPAddress("192.0.2.1"), weight: 1),
                                  NextHop(ifindex: out2, gateway: IPAddress("192.0.2.2"), weight: 3)])
            let routes: [(String, UInt32, String, RouteAction)] = [
                ("10/8", 1, "10.0.0.0/8", .forward(group: 1)),
                ("10.1/16", 1, "10.1.0.0/16", .forward(group: 2)),
                ("10.1.2/24", 1, "10.1.2.0/24", .blackhole),
                ("10.1.2.128/25", 1, "10.1.2.128/25", .local),
                ("10.7/16-ecmp", 1, "10.7.0.0/16", .forward(group: 5)),
                ("10.8/16-nogroup", 1, "10.8.0.0/16", .forward(group: 99)),
                ("t2:10/8", 2, "10.0.0.0/8", .blackhole),
                ("db8/32", 1, "2001:db8::/32", .forward(group: 3)),
                ("db8:1/48", 1, "2001:db8:1::/48", .forward(group: 4)),
                ("db8:dead/48", 1, "2001:db8:dead::/48", .blackhole),
                ("db8:100/48", 1, "2001:db8:100::/48", .local),
            ]
            var routeIDs: [String: UInt32] = [:]
            for (index, (name, table, prefix, action)) in routes.enumerated() {
                let id = UInt32(1000 + index)
                routeIDs[name] = id
                try maps.setRoute(RouteKey(table: table, prefix: try #require(IPPrefix(prefix))), RouteEntry(id: id, action: action))
            }
            try maps.addLocalAddress(try #require(IPAddress("10.9.9.9")))
            try maps.addLocalAddress(try #require(IPAddress("2001:db8::9")))

            let cases: [Case] = [
                Case(description: "IPv4 forwarded by the /8", ingress: 101, packet: v4("10.2.3.4"), expect: .forwarded(route: "10/8")),
                Case(description: "longest prefix: /16 inside /8", ingress: 101, packet: v4("10.1.5.5"), expect: .forwarded(route: "10.1/16")),
                Case(description: "longest prefix: blackhole /24 inside /16", ingress: 101, packet: v4("10.1.2.3"), expect: .dropped(route: "10.1.2/24")),
                Case(description: "longest prefix: local /25 inside blackhole /24", ingress: 101, packet: v4("10.1.2.200"), expect: .passed(.localRoute, route: "10.1.2.128/25")),
                Case(description: "tables are isolated: same address, table 2", ingress: 102, packet: v4("10.2.3.4"), expect: .dropped(route: "t2:10/8")),
                Case(description: "interface bound to no table", ingress: 103, packet: v4("10.2.3.4"), expect: .passed(.noTable)),
                Case(description: "no prefix matches", ingress: 101, packet: v4("192.168.1.1"), expect: .passed(.noRoute)),
                Case(description: "TTL 1 goes to the kernel", ingress: 101, packet: v4("10.2.3.4", ttl: 1), expect: .passed(.ttl)),
                Case(description: "TTL 0 goes to the kernel", ingress: 101, packet: v4("10.2.3.4", ttl: 0), expect: .passed(.ttl)),
                Case(description: "TTL 2 is forwarded with TTL 1", ingress: 101, packet: v4("10.2.3.4", ttl: 2), expect: .forwarded(route: "10/8")),
                Case(description: "the node's own address", ingress: 101, packet: v4("10.9.9.9"), expect: .passed(.localAddress)),
                Case(description: "larger than the egress MTU", ingress: 101, packet: v4("10.2.3.4") { $0.payloadLength = 1500 - 28 + 1 }, expect: .passed(.mtu)),
                Case(description: "exactly the egress MTU", ingress: 101, packet: v4("10.2.3.4") { $0.payloadLength = 1500 - 28 }, expect: .forwarded(route: "10/8")),
                Case(description: "ECMP group", ingress: 101, packet: v4("10.7.1.1"), expect: .forwarded(route: "10.7/16-ecmp")),
                Case(description: "route whose group is missing", ingress: 101, packet: v4("10.8.1.1"), expect: .passed(.noNextHop)),
                Case(description: "TCP keeps a valid TCP checksum", ingress: 101, packet: v4("10.2.3.4") { $0.proto = 6 }, expect: .forwarded(route: "10/8")),
                Case(description: "IPv4 fragment", ingress: 101, packet: v4("10.2.3.4") { $0.fragment = 0x2000 }, expect: .forwarded(route: "10/8")),
                Case(description: "ARP is not IP", ingress: 101, packet: arpFrame(), expect: .passed(.notIP)),
                Case(description: "VLAN-tagged frame passes untouched", ingress: 101, packet: v4("10.2.3.4") { $0.vlanID = 42 }, expect: .passed(.vlan)),
                Case(description: "IPv4 header length below 5 words", ingress: 101, packet: patched(v4("10.2.3.4"), at: 14, to: 0x44), expect: .passed(.malformed)),
                Case(description: "IPv4 header longer than the packet", ingress: 101, packet: patched(v4("10.2.3.4") { $0.payloadLength = 0 }, at: 14, to: 0x4f), expect: .passed(.malformed)),
                Case(description: "IPv6 EtherType with an IPv4 header", ingress: 101, packet: patched(v4("10.2.3.4"), at: 13, to: 0xdd, 12, 0x86), expect: .passed(.malformed)),
                Case(description: "IPv4 multicast", ingress: 101, packet: v4("224.0.0.5"), expect: .passed(.scope)),
                Case(description: "IPv4 link-local", ingress: 101, packet: v4("169.254.1.1"), expect: .passed(.scope)),
                Case(description: "frame for another MAC", ingress: 101, packet: v4("10.2.3.4") { $0.destinationMAC = [2, 0, 0, 0, 0, 9] }, expect: .passed(.notHost)),
                Case(description: "IPv6 forwarded by the /32", ingress: 101, packet: v6("2001:db8:5::1"), expect: .forwarded(route: "db8/32")),
                Case(description: "IPv6 longest prefix, on-link", ingress: 101, packet: v6("2001:db8:1::5"), expect: .forwarded(route: "db8:1/48")),
                Case(description: "IPv6 blackhole", ingress: 101, packet: v6("2001:db8:dead::1"), expect: .dropped(route: "db8:dead/48")),
                Case(description: "IPv6 local route", ingress: 101, packet: v6("2001:db8:100::1"), expect: .passed(.localRoute, route: "db8:100/48")),
                Case(description: "IPv6 hop limit 1", ingress: 101, packet: v6("2001:db8:5::1", hopLimit: 1), expect: .passed(.ttl)),
                Case(description: "IPv6 the node's own address", ingress: 101, packet: v6("2001:db8::9"), expect: .passed(.localAddress)),
                Case(description: "IPv6 multicast", ingress: 101, packet: v6("ff02::1"), expect: .passed(.scope)),
                Case(description: "IPv6 link-local", ingress: 101, packet: v6("fe80::1"), expect: .passed(.scope)),
                Case(description: "IPv6 no prefix matches", ingress: 101, packet: v6("2001:db9::1"), expect: .passed(.noRoute)),
                Case(description: "IPv6 larger than the egress MTU", ingress: 101, packet: v6("2001:db8:5::1") { $0.payloadLength = 1500 - 48 + 1 }, expect: .passed(.mtu)),
                Case(description: "IPv6 TCP", ingress: 101, packet: v6("2001:db8:5::1") { $0.proto = 6 }, expect: .forwarded(route: "db8/32")),
            ]

            var expectedRoutePackets: [String: UInt64] = [:]
            var expectedRouteBytes: [String: UInt64] = [:]
            var expectedReasons: [Reason: UInt64] = [:]
            for testCase in cases {
                let result: TestRunResult
                do {
                    result = try dataplane.testRun(packet: testCase.packet, ingressIfindex: testCase.ingress)
                } catch {
                    Issue.record("\(testCase): \(error)")
                    continue
                }
                let input = testCase.packet
                switch testCase.expect {
                case .forwarded(let route):
                    #expect(result.verdict == TC_ACT_REDIRECT, "\(testCase): verdict \(result.verdict)")
                    try expectForwarded(input: input, output: result.output, testCase)
                    expectedRoutePackets[route, default: 0] += 1
                    expectedRouteBytes[route, default: 0] += UInt64(input.count)
                    expectedReasons[.forwarded, default: 0] += 1
                case .dropped(let route):
                    #expect(result.verdict == TC_ACT_SHOT, "\(testCase): verdict \(result.verdict)")
                    if let route {
                        expectedRoutePackets[route, default: 0] += 1
                        expectedRouteBytes[route, default: 0] += UInt64(input.count)
                    }
                    expectedReasons[.blackhole, default: 0] += 1
                case .passed(let reason, let route):
                    #expect(result.verdict == TC_ACT_OK, "\(testCase): verdict \(result.verdict)")
                    #expect(result.output == input, "\(testCase): a passed packet must be unchanged")
                    if let route {
                        expectedRoutePackets[route, default: 0] += 1
                        expectedRouteBytes[route, default: 0] += UInt64(input.count)
                    }
                    expectedReasons[reason, default: 0] += 1
                }
            }

            // Counters add up: every packet has exactly one reason, and each
            // route counted exactly the packets it matched.
            let reasons = try maps.reasonCounters()
            for reason in Reason.allCases {
                #expect(reasons[reason]?.packets == expectedReasons[reason, default: 0], "reason \(reason)")
            }
            #expect(reasons.values.reduce(0) { $0 + $1.packets } == UInt64(cases.count))
            let counters = try maps.routeCounters()
            for (name, id) in routeIDs {
                // Created by the program on the route's first packet: absent means none.
                #expect(counters[id]?.packets ?? 0 == expectedRoutePackets[name, default: 0], "route \(name) packets")
                #expect(counters[id]?.bytes ?? 0 == expectedRouteBytes[name, default: 0], "route \(name) bytes")
            }
        }
    }

    /// Output = input with TTL/hop limit one less; the IPv4 header checksum is
    /// verified from scratch, and no other byte changed.
    private func expectForwarded(input: [UInt8], output: [UInt8], _ testCase: Case) throws {
        try #require(output.count == input.count, "\(testCase): length changed")
        let isV4 = input[12] == 0x08 && input[13] == 0x00
        let ttlOffset = isV4 ? 14 + 8 : 14 + 7
        #expect(output[ttlOffset] == input[ttlOffset] - 1, "\(testCase): TTL/hop limit not decremented")
        if isV4 {
            #expect(Checksum.ipv4HeaderIsValid(frame: output), "\(testCase): IPv4 header checksum is wrong after forwarding")
        }
        let changed = (0..<input.count).filter { input[$0] != output[$0] }
        let allowed: Set<Int> = isV4 ? [ttlOffset, 24, 25] : [ttlOffset]
        #expect(Set(changed).isSubset(of: allowed), "\(testCase): unexpected bytes changed at \(changed)")
    }

    /// A namespace of its own with two egress devices whose MTUs tell the
    /// next hop apart: BPF_PROG_TEST_RUN does not carry out the redirect, so
    /// the chosen next hop shows only in what the program does with it. A
    /// 1,400-byte IP packet (`large`) leaves through out1 (MTU 1500,
    /// forwarded: TC_ACT_REDIRECT) and is too big for out2 (MTU 1280: passed
    /// to the kernel with reason mtu).
    private func withTwoNextHops(_ body: (_ dataplane: Dataplane, _ pins: TestPins, _ out1: UInt32, _ out2: UInt32) throws -> Void) throws {
        let pins = try TestPins()
        defer { pins.remove() }
        let lab = try TestNamespaces(["ecmp"])
        defer { lab.delete() }
        let ns = lab[0]
        try ns.ip("link add out1 mtu 1500 type veth peer name out1p")
        try ns.ip("link add out2 mtu 1280 type veth peer name out2p")
        try ns.ip("link set out1 up")
        try ns.ip("link set out2 up")
        try ns.enter {
            let dataplane = try Dataplane(pinDirectory: pins.directory)
            try body(dataplane, pins, try #require(Interfaces.index(of: "out1")), try #require(Interfaces.index(of: "out2")))
        }
    }

    /// Table 7 on ingress 101: 10.0.0.0/8 through group 1 and 2001:db8::/32
    /// through group 2, each over out1 and out2 with the weights given.
    private func programECMP(_ maps: RouterMaps, out1: UInt32, out2: UInt32, weights: (UInt32, UInt32)) throws {
        try maps.bind(ifindex: 101, table: 7)
        try maps.setGroup(1, [NextHop(ifindex: out1, gateway: IPAddress("192.0.2.1"), weight: weights.0),
                              NextHop(ifindex: out2, gateway: IPAddress("192.0.2.2"), weight: weights.1)])
        try maps.setGroup(2, [NextHop(ifindex: out1, gateway: IPAddress("2001:db8:ffff::1"), weight: weights.0),
                              NextHop(ifindex: out2, gateway: IPAddress("2001:db8:ffff::2"), weight: weights.1)])
        try maps.setRoute(RouteKey(table: 7, prefix: try #require(IPPrefix("10.0.0.0/8"))), RouteEntry(id: 1, action: .forward(group: 1)))
        try maps.setRoute(RouteKey(table: 7, prefix: try #require(IPPrefix("2001:db8::/32"))), RouteEntry(id: 2, action: .forward(group: 2)))
    }

    /// A UDP packet of 1,400 IP bytes on the flow `flow` (source address and port).
    private func large(_ family: IPAddress.Family, flow: Int) -> [UInt8] {
        var packet = family == .v4 ? Packet(from: "172.16.\(flow / 250 % 250).\(flow % 250 + 1)", to: "10.1.1.1")
                                   : Packet(from: "2001:db8:aaaa::\(String(flow + 1, radix: 16))", to: "2001:db8:5::1")
        packet.sourcePort = UInt16(10_000 + flow % 50_000)
        packet.payloadLength = 1400 - 8 - (family == .v4 ? 20 : 40)
        return packet.bytes
    }

    @Test func aFlowAlwaysHashesToTheSameVerdictAndCounts() throws {
        // The per-packet cost measurement path: one ECMP route, 1,000 repeats
        // of one flow in one test run, each counted once, all through one
        // next hop. The repeats run on the same skb, so the benchmark's
        // wrapper (the same rl_route_packet, TTL restored before each run)
        // runs them; the router would take the TTL exit after 63 forwards.
        try withTwoNextHops { dataplane, pins, out1, out2 in
            let maps = dataplane.maps
            try programECMP(maps, out1: out1, out2: out2, weights: (1, 1))
            let bench = try BPFObject(base64: BPFObjects.bench_router, name: "bench_router", pinRoot: pins.directory)
            let program = try bench.programFD("rl_bench_router")
            var used: Set<String> = []
            for (family, routeID) in [(IPAddress.Family.v4, UInt32(1)), (.v6, 2)] {
                for flow in 0..<8 {
                    let reasonsBefore = try maps.reasonCounters(), routeBefore = try maps.counter(routeID: routeID)?.packets ?? 0
                    let result = try TestRun.run(programFD: program, packet: large(family, flow: flow), ingressIfindex: 101, repeat: 1000)
                    let reasonsAfter = try maps.reasonCounters()
                    let delta = Dictionary(uniqueKeysWithValues: Reason.allCases.map {
                        ($0, (reasonsAfter[$0]?.packets ?? 0) - (reasonsBefore[$0]?.packets ?? 0))
                    }).filter { $0.value > 0 }
                    let viaOut1 = delta[.forwarded, default: 0], towardOut2 = delta[.mtu, default: 0]
                    let what = "\(family) flow \(flow)"
                    #expect(viaOut1 + towardOut2 == 1000 && delta.count <= 2,
                            "\(what): each of the 1,000 repeats counted once, forwarded via out1 or too big for out2: \(delta)")
                    #expect(viaOut1 == 0 || towardOut2 == 0,
                            "\(what) took both next hops: \(viaOut1) repeats via out1, \(towardOut2) toward out2")
                    #expect(try maps.counter(routeID: routeID)?.packets ?? 0 == routeBefore + viaOut1, "\(what): the route counts each forward")
                    #expect(result.verdict == (viaOut1 > 0 ? TC_ACT_REDIRECT : TC_ACT_OK), "\(what): verdict \(result.verdict), reasons \(delta)")
                    used.insert("\(family) \(viaOut1 > 0 ? "out1" : "out2")")
                }
            }
            #expect(used.count == 4, "8 flows per family use both next hops: \(used.sorted())")
        }
    }

    @Test func weightedECMPSharesFlowsInProportionToTheWeights() throws {
        // Weights 1:3 over 4,000 distinct flows per family: a quarter through
        // out1. The hash is deterministic, so the share is too; ±3 points is
        // over four standard deviations of a fair 1:3 draw.
        try withTwoNextHops { dataplane, _, out1, out2 in
            let maps = dataplane.maps
            try programECMP(maps, out1: out1, out2: out2, weights: (1, 3))
            let flows = 4000
            for family in [IPAddress.Family.v4, .v6] {
                let reasonsBefore = try maps.reasonCounters()
                var viaOut1 = 0, towardOut2 = 0, other: [Int32: Int] = [:]
                for flow in 0..<flows {
                    switch try dataplane.testRun(packet: large(family, flow: flow), ingressIfindex: 101).verdict {
                    case TC_ACT_REDIRECT: viaOut1 += 1
                    case TC_ACT_OK: towardOut2 += 1
                    case let verdict: other[verdict, default: 0] += 1
                    }
                }
                let reasonsAfter = try maps.reasonCounters()
                func delta(_ reason: Reason) -> Int { Int((reasonsAfter[reason]?.packets ?? 0) - (reasonsBefore[reason]?.packets ?? 0)) }
                #expect(other.isEmpty && delta(.forwarded) == viaOut1 && delta(.mtu) == towardOut2,
                        "\(family): every flow forwarded via out1 or too big for out2 (other verdicts \(other), forwarded \(delta(.forwarded)), mtu \(delta(.mtu)))")
                let share = Double(viaOut1) * 100 / Double(flows)
                print("weighted ECMP 1:3, \(family): \(viaOut1) of \(flows) flows (\(share.formatted(.number.precision(.fractionLength(1))))%) through the weight-1 next hop")
                #expect(abs(share - 25) <= 3, "\(family): \(share)% of the flows through the weight-1 next hop of 1:3, not 25 ± 3")
            }
        }
    }
}
