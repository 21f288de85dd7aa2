import CRouteletABI
import Dataplane
import Foundation
import NetAddress
import NetLab
import Netlink
import Testing

/// HTTP/HTTPS listener traffic handed to a local socket, for real: the
/// gateway lab (client namespace -> gateway namespace), the router program
/// attached to the gateway's client-facing veth by the Dataplane API, local
/// listeners for 198.51.100.10:80 and [2001:db8:51::10]:80, the policy rule
/// and local route installed by ``LocalDelivery``, and in the gateway
/// namespace an HTTP server whose sockets are bound to the listener
/// addresses with IP_TRANSPARENT, as `routelet gateway` binds them. No
/// address is added to any device and no iptables rule exists.
@Suite(.serialized) struct GatewayHandoffTests {
    static let settings = LocalDeliverySettings.default

    static var policy: LocalDelivery {
        LocalDelivery(mark: settings.mark, mask: settings.mask, table: settings.table, priority: settings.priority,
                      protocolNumber: LocalDeliverySettings.protocolNumber, families: [.v4, .v6])
    }

    /// One JSON answer of the lab's transparent server.
    struct Answer: Decodable, Equatable {
        var peer: String
        var peerPort: Int
        var local: String
        var localPort: Int
    }

    func answers(_ lines: [String]) throws -> [Answer] {
        try lines.map { try JSONDecoder().decode(Answer.self, from: Data($0.utf8)) }
    }

    /// routelet's rules (priority 29) and routes (table 29292) as `ip` shows them in `namespace`.
    func policyRouting(in namespace: NetworkNamespace) throws -> String {
        try ["rule show", "-6 rule show", "route show table all", "-6 route show table all"].map { try namespace.ip($0) }
            .joined().split(separator: "\n").filter { $0.contains("29292") || $0.hasPrefix("29:") }.joined(separator: "\n")
    }

    @Test func curlThroughTheHandoffReachesTheTransparentSocketWithTheClientsAddressOverOneKeptAliveConnection() throws {
        let pins = try TestPins()
        defer { pins.remove() }
        let lab = try GatewayLab(backendCount: 0, ipv6: true)
        defer { lab.delete() }
        let gateway = lab.gateway
        // Whatever fails below, the namespace's rules go with it; this also
        // removes them from a namespace that outlived its test.
        defer { _ = try? gateway.enter { try LocalDelivery.remove(protocolNumber: LocalDeliverySettings.protocolNumber,
                                                                   tables: [Self.settings.table], socket: RouteNetlinkSocket()) } }
        let server = try lab.startTransparentHTTPServer(addresses: [GatewayLab.listener, GatewayLab.listener6])
        defer { server.stop(signal: SIGKILL) }
        let v4 = "http://\(GatewayLab.listener)/"
        let v6 = "http://[\(GatewayLab.listener6)]/"

        // Without routelet the listener address is nobody's: no connection.
        let before = try lab.curl([v4])
        #expect(before.status != 0, "connected without the handoff: \(before.lines) \(before.stderr)")

        let dataplane = try gateway.enter { () throws -> Dataplane in
            let dataplane = try Dataplane(pinDirectory: pins.directory)
            let gc = try #require(Interfaces.index(of: "gc"))
            try dataplane.gateway.setListener(ListenerKey(address: IPAddress(GatewayLab.listener)!, port: 80, proto: .tcp), .local(id: 0))
            try dataplane.gateway.setListener(ListenerKey(address: IPAddress(GatewayLab.listener6)!, port: 80, proto: .tcp), .local(id: 1))
            try dataplane.maps.bind(ifindex: gc, table: 0, gateway: true)
            #expect(try dataplane.attach(ifindex: gc) == .attached)
            return dataplane
        }

        // The program alone is not enough: the packet is marked and assigned,
        // but the kernel still routes it, and the listener address is not local.
        let withoutRule = try lab.curl([v4])
        #expect(withoutRule.status != 0, "connected without the local delivery rule: \(withoutRule.lines)")

        let changes = try gateway.enter { try Self.policy.ensure(socket: RouteNetlinkSocket()) }
        #expect(changes == 4, "a rule and a local route for each family")
        let installed = try policyRouting(in: gateway)
        #expect(installed.contains("fwmark 0x20000000/0x20000000 lookup 29292") && installed.contains("local default dev lo"),
                "ip rule / ip route: \(installed)")

        // Three requests, one connection: the first packet finds the
        // listening socket, the rest the established one. (The SYNs of the
        // attempt without the rule found it too, and were counted.)
        let flowsBefore = try (dataplane.gateway.listenerCounter(0).flows, dataplane.gateway.listenerCounter(1).flows)
        let kept = try lab.curl([v4, v4, v4])
        #expect(kept.status == 0, "curl: \(kept.stderr)")
        let answered = try answers(kept.lines)
        #expect(answered.count == 3, "\(kept.lines)")
        for answer in answered {
            #expect(answer.peer == GatewayLab.clientAddress, "the server sees the client's own address: \(answer)")
            #expect(answer.local == GatewayLab.listener && answer.localPort == 80, "the socket answers as the listener: \(answer)")
        }
        #expect(Set(answered.map(\.peerPort)).count == 1, "one kept-alive connection: \(answered.map(\.peerPort))")

        let kept6 = try lab.curl([v6, v6])
        #expect(kept6.status == 0, "curl over IPv6: \(kept6.stderr)")
        let answered6 = try answers(kept6.lines)
        #expect(answered6.count == 2 && answered6.allSatisfy { $0.peer == GatewayLab.clientAddress6 && $0.local == GatewayLab.listener6 },
                "\(kept6.lines)")
        #expect(Set(answered6.map(\.peerPort)).count == 1)

        // The counters: every client packet was handed over by bpf_sk_assign
        // itself (none took the unassigned path), one connection per family.
        let reasons = try dataplane.maps.reasonCounters()
        #expect((reasons[.gatewayLocal]?.packets ?? 0) >= 10, "handed to the socket: \(reasons[.gatewayLocal] ?? .zero)")
        #expect(reasons[.gatewayLocalUnassigned]?.packets ?? 0 == 0 && reasons[.gatewayNoSocket]?.packets ?? 0 == 0, "\(reasons)")
        let flows = try (dataplane.gateway.listenerCounter(0).flows - flowsBefore.0, dataplane.gateway.listenerCounter(1).flows - flowsBefore.1)
        #expect(flows == (1, 1), "one new connection per family: \(flows)")
        // Replies leave by the kernel's routing: no filter on egress, the route to the client is the connected one.
        #expect(try gateway.run(["tc", "filter", "show", "dev", "gc", "egress"]).isEmpty)
        #expect(try gateway.ip("route get \(GatewayLab.clientAddress)").contains("dev gc"))

        // The gateway down: its listener's packets are dropped and counted,
        // not forwarded: the client sees a connect timeout, nothing else.
        server.stop(signal: SIGKILL)
        let down = try lab.curl([v4], connectTimeout: 1)
        #expect(down.status == 28, "curl's connect timeout (28), got \(down.status): \(down.stderr)")
        #expect((try dataplane.maps.reasonCounters()[.gatewayNoSocket]?.packets ?? 0) >= 1)

        // The handoff is what made it work: a new server, the program detached, no connection.
        let again = try lab.startTransparentHTTPServer(addresses: [GatewayLab.listener])
        defer { again.stop(signal: SIGKILL) }
        #expect(try lab.curl([v4]).status == 0, "served again once the gateway is back")
        try gateway.enter { _ = try dataplane.detach(ifindex: try #require(Interfaces.index(of: "gc"))) }
        let detached = try lab.curl([v4], connectTimeout: 1)
        #expect(detached.status != 0, "connected with the program detached: \(detached.lines)")

        // Removal takes the rules and routes, and only them.
        let removed = try gateway.enter { try LocalDelivery.remove(protocolNumber: LocalDeliverySettings.protocolNumber,
                                                                   tables: [Self.settings.table], socket: RouteNetlinkSocket()) }
        #expect(removed == 4)
        let left = try policyRouting(in: gateway)
        #expect(left.isEmpty, "left behind: \(left)")
        #expect(try gateway.enter { try Self.policy.isInstalled(socket: RouteNetlinkSocket()) } == false)
    }
}
