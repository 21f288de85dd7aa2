import Dataplane
import Foundation
import NetAddress
import NetLab
import Testing

/// Real packets across a namespace lab, kernel forwarding off in the router,
/// the router programmed through the Dataplane API. A packet that arrives
/// was forwarded by routelet's program.
@Suite(.serialized) struct ForwardingTests {
    /// Route ids used by `programLab`.
    enum ID {
        static let v4 = [UInt32(1), 2, 3]
        static let v6 = [UInt32(11), 12, 13]
    }

    /// One table on all three router interfaces: each host's /24 and /64,
    /// B's through its address as gateway, A's and C's on-link; the
    /// router's own addresses protected; the filter attached everywhere.
    static func programLab(_ dataplane: Dataplane) throws -> [String: UInt32] {
        let maps = dataplane.maps
        var ifindex: [String: UInt32] = [:]
        for name in RouterLab.routerInterfaces {
            guard let index = Interfaces.index(of: name) else { throw KernelTestError("router interface \(name) is missing") }
            ifindex[name] = index
        }
        for (link, name) in RouterLab.routerInterfaces.enumerated().map({ ($0 + 1, $1) }) {
            let host = RouterLab.address(host: link)
            let router = RouterLab.routerAddress(link: link)
            try maps.bind(ifindex: ifindex[name]!, table: 1)
            let gateway4 = link == 2 ? IPAddress(host.v4) : nil
            let gateway6 = link == 2 ? IPAddress(host.v6) : nil
            try maps.setGroup(UInt32(link), [NextHop(ifindex: ifindex[name]!, gateway: gateway4)])
            try maps.setGroup(UInt32(10 + link), [NextHop(ifindex: ifindex[name]!, gateway: gateway6)])
            for (id, group, prefix) in [(ID.v4[link - 1], UInt32(link), "198.18.\(link).0/24"),
                                        (ID.v6[link - 1], UInt32(10 + link), "2001:db8:\(link)::/64")] {
                try maps.setRoute(RouteKey(table: 1, prefix: IPPrefix(prefix)!), RouteEntry(id: id, action: .forward(group: group)))
            }
            try maps.addLocalAddress(IPAddress(router.v4)!)
            try maps.addLocalAddress(IPAddress(router.v6)!)
            try dataplane.attach(ifindex: ifindex[name]!)
        }
        return ifindex
    }

    @Test func pingAndTCPCrossTheRouterOnlyThroughRoutelet() throws {
        let pins = try TestPins()
        defer { pins.remove() }
        let lab = try RouterLab()
        defer { lab.delete() }
        #expect(try lab.kernelForwardingIsOff())
        let b = RouterLab.address(host: 2), c = RouterLab.address(host: 3)

        // Nothing crosses before routelet is programmed.
        #expect(try Traffic.ping(from: lab.hostA, b.v4, count: 2) == 0, "the kernel forwarded: forwarding must be off")

        let dataplane = try lab.router.enter { try Dataplane(pinDirectory: pins.directory) }
        _ = try lab.router.enter { try Self.programLab(dataplane) }

        #expect(try Traffic.ping(from: lab.hostA, b.v4) == 3, "IPv4 ping A -> B (via gateway)")
        #expect(try Traffic.ping(from: lab.hostA, c.v4) == 3, "IPv4 ping A -> C (on-link)")
        #expect(try Traffic.ping(from: lab.hostA, b.v6) == 3, "IPv6 ping A -> B")
        #expect(try Traffic.ping(from: lab.hostA, c.v6) == 3, "IPv6 ping A -> C")

        for address in [b.v4, b.v6] {
            let transfer = try Traffic.tcpTransfer(from: lab.hostA, to: lab.hostB, address: address)
            #expect(transfer.sent == transfer.received, "TCP transfer to \(address) arrived intact")
            #expect(transfer.sent.hasPrefix("\(1 << 20) "))
        }

        // Every packet that crossed was counted by routelet's routes.
        let counters = try dataplane.maps.routeCounters()
        #expect((counters[ID.v4[1]]?.packets ?? 0) >= 6, "A -> B IPv4 packets counted on B's route")
        #expect((counters[ID.v6[1]]?.packets ?? 0) >= 6, "A -> B IPv6 packets counted on B's route")
        #expect((counters[ID.v4[0]]?.packets ?? 0) >= 6, "replies counted on A's route")
        #expect((try dataplane.maps.reasonCounters()[.forwarded]?.packets ?? 0) > 20)

        try lab.router.enter { try Cleanup.run(pinDirectory: pins.directory) }
    }

    /// UDP flows from A to the service addresses over an ECMP route with
    /// next hops B and C of the given weights: for each service (IPv4, then
    /// IPv6), the packets each source port delivered on B and on C.
    private func flowsOverTwoNextHops(weights: (b: UInt32, c: UInt32), flows: Int, packetsPerFlow: Int) throws
        -> [(service: String, onB: [Int: Int], onC: [Int: Int])] {
        let pins = try TestPins()
        defer { pins.remove() }
        let lab = try RouterLab()
        defer { lab.delete() }
        let dataplane = try lab.router.enter { try Dataplane(pinDirectory: pins.directory) }
        let ifindex = try lab.router.enter { try Self.programLab(dataplane) }
        for (group, v4) in [(UInt32(50), true), (51, false)] {
            func gateway(_ host: Int) -> IPAddress? { IPAddress(v4 ? RouterLab.address(host: host).v4 : RouterLab.address(host: host).v6) }
            try dataplane.maps.setGroup(group, [
                NextHop(ifindex: ifindex["rb"]!, gateway: gateway(2), weight: weights.b),
                NextHop(ifindex: ifindex["rc"]!, gateway: gateway(3), weight: weights.c),
            ])
        }
        try dataplane.maps.setRoute(RouteKey(table: 1, prefix: IPPrefix("198.19.0.0/24")!), RouteEntry(id: 50, action: .forward(group: 50)))
        try dataplane.maps.setRoute(RouteKey(table: 1, prefix: IPPrefix("2001:db8:99::/64")!), RouteEntry(id: 51, action: .forward(group: 51)))

        // Resolve the router's neighbours first: while a neighbour is being
        // resolved the kernel queues only a few packets and drops the rest,
        // whoever forwards them.
        for host in [2, 3] {
            for address in [RouterLab.address(host: host).v4, RouterLab.address(host: host).v6] {
                #expect(try Traffic.ping(from: lab.hostA, address, count: 1) == 1, "warm-up ping to \(address)")
            }
        }
        var results: [(service: String, onB: [Int: Int], onC: [Int: Int])] = []
        for service in [RouterLab.serviceV4, RouterLab.serviceV6] {
            let onB = try Traffic.udpCounter(in: lab.hostB, address: service)
            let onC = try Traffic.udpCounter(in: lab.hostC, address: service)
            try Traffic.waitForUDPListener(in: lab.hostB, port: 9000)
            try Traffic.waitForUDPListener(in: lab.hostC, port: 9000)
            try Traffic.udpFlows(from: lab.hostA, to: service, flows: flows, packetsPerFlow: packetsPerFlow)
            results.append((service, Traffic.udpCounts(onB.wait().stdout), Traffic.udpCounts(onC.wait().stdout)))
        }
        try lab.router.enter { try Cleanup.run(pinDirectory: pins.directory) }
        return results
    }

    @Test func ecmpSpreadsFlowsOverBothNextHopsAndKeepsEachFlowOnOnePath() throws {
        let flows = 64, packets = 10
        for (service, countsB, countsC) in try flowsOverTwoNextHops(weights: (1, 1), flows: flows, packetsPerFlow: packets) {
            #expect(!countsB.isEmpty && !countsC.isEmpty, "\(service): both next hops carry flows (B: \(countsB.count), C: \(countsC.count))")
            #expect(countsB.count + countsC.count == flows, "\(service): every flow arrived")
            #expect(Set(countsB.keys).isDisjoint(with: countsC.keys), "\(service): a flow was split over both paths")
            for (port, count) in countsB.merging(countsC, uniquingKeysWith: +) {
                #expect(count == packets, "\(service): flow from port \(port) delivered \(count) of \(packets) on one path")
            }
        }
    }

    @Test func weightedECMPSendsAQuarterOfTheFlowsToTheWeightOneNextHop() throws {
        // 2,000 flows: a fair 1:3 draw lands within ±3 points of 25 % with
        // three standard deviations to spare (the hash is fixed, so the
        // share is the same every run). B weight 1, C weight 3.
        let flows = 2000, packets = 2
        for (service, countsB, countsC) in try flowsOverTwoNextHops(weights: (1, 3), flows: flows, packetsPerFlow: packets) {
            #expect(countsB.count + countsC.count == flows, "\(service): every flow arrived (B: \(countsB.count), C: \(countsC.count))")
            #expect(Set(countsB.keys).isDisjoint(with: countsC.keys), "\(service): a flow was split over both paths")
            let incomplete = countsB.merging(countsC, uniquingKeysWith: +).filter { $0.value != packets }
            #expect(incomplete.isEmpty, "\(service): flows (source port: packets) not delivered whole on one path: \(incomplete)")
            let share = Double(countsB.count) * 100 / Double(flows)
            print("weighted ECMP 1:3 in the lab, \(service): \(countsB.count) of \(flows) flows (\(share.formatted(.number.precision(.fractionLength(1))))%) to B, \(countsC.count) to C")
            #expect(abs(share - 25) <= 3, "\(service): \(share)% of the flows to B (weight 1 of 1:3), not 25 ± 3")
        }
    }

    @Test func blackholeDropsLocalDeliversAndUnmatchedGoesToTheKernel() throws {
        let pins = try TestPins()
        defer { pins.remove() }
        let lab = try RouterLab()
        defer { lab.delete() }
        try lab.router.ip("addr add 198.18.9.1/32 dev lo")      // reached through a Local route
        try lab.router.ip("addr add 198.18.10.1/32 dev lo")     // reached with no route at all
        let dataplane = try lab.router.enter { try Dataplane(pinDirectory: pins.directory) }
        _ = try lab.router.enter { try Self.programLab(dataplane) }
        let maps = dataplane.maps
        let b = RouterLab.address(host: 2)

        // Blackhole B's /24 in place (same id): pings die and are counted.
        let before = try maps.counter(routeID: ID.v4[1])?.packets ?? 0
        try maps.setRoute(RouteKey(table: 1, prefix: IPPrefix("198.18.2.0/24")!), RouteEntry(id: ID.v4[1], action: .blackhole))
        let dropsBefore = try maps.reasonCounters()[.blackhole]?.packets ?? 0
        #expect(try Traffic.ping(from: lab.hostA, b.v4, count: 3) == 0, "Blackhole must drop")
        #expect(try maps.reasonCounters()[.blackhole]?.packets == dropsBefore + 3)
        #expect(try maps.counter(routeID: ID.v4[1])?.packets == before + 3)

        // Local: the router's own stack answers.
        try maps.setRoute(RouteKey(table: 1, prefix: IPPrefix("198.18.9.0/24")!), RouteEntry(id: 90, action: .local))
        #expect(try Traffic.ping(from: lab.hostA, "198.18.9.1") == 3, "Local route delivers to the router")
        #expect(try maps.counter(routeID: 90)?.packets == 3)

        // No route: the kernel gets it unchanged (and, as a host, answers).
        let noRoute = try maps.reasonCounters()[.noRoute]?.packets ?? 0
        #expect(try Traffic.ping(from: lab.hostA, "198.18.10.1") == 3, "unmatched traffic reaches the kernel")
        #expect(try maps.reasonCounters()[.noRoute]?.packets == noRoute + 3)

        try lab.router.enter { try Cleanup.run(pinDirectory: pins.directory) }
    }

    @Test func aRouteChangedInPlaceKeepsItsCounters() throws {
        let pins = try TestPins()
        defer { pins.remove() }
        let lab = try RouterLab()
        defer { lab.delete() }
        let dataplane = try lab.router.enter { try Dataplane(pinDirectory: pins.directory) }
        let ifindex = try lab.router.enter { try Self.programLab(dataplane) }
        let maps = dataplane.maps
        let c = RouterLab.address(host: 3)

        #expect(try Traffic.ping(from: lab.hostA, c.v4, count: 4) == 4)
        let first = try #require(try maps.counter(routeID: ID.v4[2])).packets
        #expect(first >= 4)

        // Same prefix and id, new next hop (through C's address as gateway).
        try maps.setGroup(70, [NextHop(ifindex: ifindex["rc"]!, gateway: IPAddress(c.v4))])
        let writes = maps.writes.value
        try maps.setRoute(RouteKey(table: 1, prefix: IPPrefix("198.18.3.0/24")!), RouteEntry(id: ID.v4[2], action: .forward(group: 70)))
        #expect(maps.writes.value == writes + 1, "an in-place change is one write, not delete + insert")
        #expect(try Traffic.ping(from: lab.hostA, c.v4, count: 4) == 4)
        #expect(try maps.counter(routeID: ID.v4[2])?.packets == first + 4, "counters continue across the change")

        try lab.router.enter { try Cleanup.run(pinDirectory: pins.directory) }
    }
}
