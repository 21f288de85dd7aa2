import Foundation

/// A router namespace between three hosts, for forwarding tests, benchmarks
/// and the demo:
///
///     A (198.18.1.2) ── ra | router | rb ── B (198.18.2.2)
///                          |        | rc ── C (198.18.3.2)
///                          |        | rd ── D (198.18.4.2)   (only with `nextHops: 3`)
///
/// IPv6 mirrors it with 2001:db8:N::/64. B and C (and D) all carry the service
/// addresses 198.19.0.1 / 2001:db8:99::1 and 198.20.0.1 on their loopback,
/// so a route to them can fail over, or spread flows (ECMP), between them. Kernel forwarding is off in the
/// router, so whatever crosses it was forwarded by routelet. Addresses come
/// from the benchmarking range (RFC 2544) and the documentation prefix, and
/// only exist inside these namespaces.
public final class RouterLab: Sendable {
    public let router: NetworkNamespace
    public let hostA: NetworkNamespace
    public let hostB: NetworkNamespace
    public let hostC: NetworkNamespace
    /// The next hops' hosts: B, C and, in a lab of three next hops, D.
    public let nextHopHosts: [NetworkNamespace]

    /// The router's interface towards each host (D's only in a lab of three next hops).
    public static let routerInterfaces = ["ra", "rb", "rc"]
    public static let fourthInterface = "rd"
    public static let serviceV4 = "198.19.0.1"
    public static let serviceV6 = "2001:db8:99::1"
    /// A second address on both B and C, for ECMP.
    public static let anycastV4 = "198.20.0.1"

    public static func address(host: Int) -> (v4: String, v6: String) { ("198.18.\(host).2", "2001:db8:\(host)::2") }
    public static func routerAddress(link: Int) -> (v4: String, v6: String) { ("198.18.\(link).1", "2001:db8:\(link)::1") }

    public var all: [NetworkNamespace] { [router, hostA] + nextHopHosts }

    /// - Parameter nextHops: hosts that carry the service addresses, 2 (B
    ///   and C) or 3 (and D).
    public init(nextHops: Int = 2) throws {
        precondition((2...3).contains(nextHops), "a router lab has two or three next hops")
        var made: [NetworkNamespace] = []
        do {
            for role in ["rtr", "a", "b", "c", "d"].prefix(2 + nextHops) { made.append(try NetworkNamespace(role)) }
            (router, hostA, hostB, hostC) = (made[0], made[1], made[2], made[3])
            nextHopHosts = Array(made[2...])
            // No duplicate address detection: a tentative link-local address
            // delays neighbour discovery by a second or more on new links.
            for namespace in made {
                try namespace.sysctl("net.ipv6.conf.default.accept_dad=0")
                try namespace.sysctl("net.ipv6.conf.all.accept_dad=0")
            }
            // A link that goes down keeps its IPv6 addresses, as it does its
            // IPv4 ones (the kernel's default flushes them).
            try router.sysctl("net.ipv6.conf.all.keep_addr_on_down=1")
            try router.sysctl("net.ipv4.ip_forward=0")
            try router.sysctl("net.ipv6.conf.all.forwarding=0")
            for (index, host) in made.dropFirst().enumerated() {
                let link = index + 1
                let routerSide = (Self.routerInterfaces + [Self.fourthInterface])[index]
                try Command.run(["ip", "link", "add", "rlh\(link)-\(host.name.suffix(6))", "netns", host.name,
                                 "type", "veth", "peer", "name", routerSide, "netns", router.name])
                try host.ip("link set rlh\(link)-\(host.name.suffix(6)) name eth0")
                try host.ip("link set eth0 up")
                try router.ip("link set \(routerSide) up")
                let hostAddress = Self.address(host: link), routerAddress = Self.routerAddress(link: link)
                try host.ip("addr add \(hostAddress.v4)/24 dev eth0")
                try host.ip("-6 addr add \(hostAddress.v6)/64 dev eth0 nodad")
                try router.ip("addr add \(routerAddress.v4)/24 dev \(routerSide)")
                try router.ip("-6 addr add \(routerAddress.v6)/64 dev \(routerSide) nodad")
                try host.ip("route add default via \(routerAddress.v4)")
                try host.ip("-6 route add default via \(routerAddress.v6)")
            }
            for host in nextHopHosts {
                try host.ip("addr add \(Self.serviceV4)/32 dev lo")
                try host.ip("addr add \(Self.anycastV4)/32 dev lo")
                try host.ip("-6 addr add \(Self.serviceV6)/128 dev lo nodad")
            }
        } catch {
            made.forEach { $0.delete() }
            throw error
        }
    }

    /// Removes every namespace of the lab (and with them the veth pairs).
    public func delete() {
        all.forEach { $0.delete() }
    }

    /// Whether kernel forwarding is off in the router, both families.
    public func kernelForwardingIsOff() throws -> Bool {
        let v4 = try router.run(["sysctl", "-n", "net.ipv4.ip_forward"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let v6 = try router.run(["sysctl", "-n", "net.ipv6.conf.all.forwarding"]).trimmingCharacters(in: .whitespacesAndNewlines)
        return v4 == "0" && v6 == "0"
    }
}
