import Foundation
import NetAddress
@testable import Netlink
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Policy rules and local routes: the wire format without a kernel, then
/// ``LocalDelivery`` against the kernel in a scratch namespace (root; fails,
/// never skips, without it).
@Suite("Local delivery rules and routes", .serialized)
struct LocalDeliveryTests {
    static let policy = LocalDelivery(mark: 0x2000_0000, mask: 0x2000_0000, table: 29292, priority: 29, protocolNumber: 114)

    @Test("a rule and a route read back as they were written")
    func ruleAndRouteRoundTripThroughTheWireFormat() throws {
        for rule in Self.policy.rules {
            let message = NetlinkMessage(type: NetlinkWire.newRule, payload: rule.payload)
            let parsed = try NetlinkParser.rule(from: NetlinkParser.messages(in: message.encoded)[0])
            #expect(parsed == rule, "\(rule)")
        }
        let small = PolicyRule(family: .v4, priority: 7, mark: 1, mask: 1, table: 200, protocolNumber: 114)
        #expect(small.payload[4] == 200, "a table below 256 also goes in the header")
        for route in Self.policy.routes + [TableRoute.local(IPPrefix("198.51.100.0/24")!, table: 7, loopback: 1, protocolNumber: 4)] {
            let message = NetlinkMessage(type: NetlinkWire.newRoute, payload: route.payload)
            let parsed = try NetlinkParser.route(from: NetlinkParser.messages(in: message.encoded)[0])
            #expect(parsed == route, "\(route)")
        }
    }

    @Test("a rule with a selector routelet does not write is told apart")
    func aRuleWithOtherSelectorsIsMarked() throws {
        var payload = Self.policy.rules[0].payload
        payload += NetlinkAttribute(type: UInt16(3), value: Array("eth0\0".utf8)).encoded   // FRA_IIFNAME
        let parsed = try #require(try NetlinkParser.rule(from: NetlinkMessage(type: NetlinkWire.newRule, payload: payload)))
        #expect(parsed.hasOtherSelectors)
        #expect(LocalDelivery(installed: .init(rules: [parsed], routes: [Self.policy.routes[0]]), protocolNumber: 114) == nil)
    }

    @Test("ensure installs the rule and the local default route of both families, idempotently, and repairs drift")
    func ensureIsIdempotentAndRepairsDrift() throws {
        try #require(geteuid() == 0, "kernel tests create network namespaces and must run as root")
        let namespace = try ScratchNamespace.create()
        defer { namespace.delete() }
        // IPv6 refuses a route through a loopback that is down (ENETDOWN).
        try namespace.ip("link", "set", "lo", "up")
        let socket = try namespace.enter { try RouteNetlinkSocket() }
        // Someone else's rule and route, which must survive everything below.
        try namespace.ip("rule", "add", "pref", "100", "fwmark", "0x4000/0x4000", "lookup", "100")
        try namespace.ip("route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "29292", "metric", "7", "proto", "static")

        #expect(try Self.policy.isInstalled(socket: socket) == false)
        #expect(try Self.policy.ensure(socket: socket) == 4, "two rules and two routes")
        #expect(try Self.policy.isInstalled(socket: socket))
        #expect(try Self.policy.ensure(socket: socket) == 0, "a second ensure changes nothing")

        // What `ip` shows.
        let rules4 = try namespace.ipJSON("rule", "show")
        let ours = rules4.filter { $0["priority"] as? Int == 29 }
        #expect(ours.count == 1 && ours[0]["fwmark"] as? String == "0x20000000" && ours[0]["fwmask"] as? String == "0x20000000"
                && "\(ours[0]["table"] ?? "")" == "29292", "ip rule: \(rules4)")
        let rules6 = try namespace.ipJSON("-6", "rule", "show")
        #expect(rules6.filter { $0["priority"] as? Int == 29 }.count == 1, "ip -6 rule: \(rules6)")
        let routes4 = try namespace.ipJSON("route", "show", "table", "29292")
        #expect(routes4.contains { $0["type"] as? String == "local" && $0["dst"] as? String == "default" && $0["dev"] as? String == "lo"
                                   && "\($0["protocol"] ?? "")" == "114" }, "ip route: \(routes4)")
        let routes6 = try namespace.ipJSON("-6", "route", "show", "table", "29292")
        #expect(routes6.contains { $0["type"] as? String == "local" && $0["dst"] as? String == "default" }, "ip -6 route: \(routes6)")

        // Drift: the IPv4 rule and the IPv6 route removed by hand are put back.
        try namespace.ip("rule", "del", "pref", "29", "fwmark", "0x20000000/0x20000000", "lookup", "29292")
        try namespace.ip("-6", "route", "del", "local", "::/0", "dev", "lo", "table", "29292", "proto", "114")
        #expect(try Self.policy.isInstalled(socket: socket) == false)
        #expect(try Self.policy.ensure(socket: socket) == 2)
        #expect(try Self.policy.isInstalled(socket: socket))

        // Another mark and IPv4 only: the new rule in, the old ones and the IPv6 route out.
        var moved = Self.policy
        moved.mark = 0x0100_0000
        moved.mask = 0x0100_0000
        moved.families = [.v4]
        #expect(try moved.ensure(socket: socket) == 4, "one rule added, two rules and one route removed")
        #expect(try moved.isInstalled(socket: socket))
        #expect(try Self.policy.isInstalled(socket: socket) == false)

        // Removal takes routelet's and nothing else.
        #expect(try LocalDelivery.remove(protocolNumber: 114, tables: [29292], socket: socket) == 2)
        #expect(try LocalDelivery.installed(protocolNumber: 114, tables: [29292], socket: socket).isEmpty)
        #expect(try LocalDelivery.remove(protocolNumber: 114, tables: [29292], socket: socket) == 0, "removing twice is fine")
        #expect(try namespace.ipJSON("rule", "show").contains { $0["priority"] as? Int == 100 }, "someone else's rule stays")
        #expect(try namespace.ipJSON("route", "show", "table", "29292").contains { "\($0["protocol"] ?? "")" == "static" },
                "someone else's route in the table stays")
    }
}
