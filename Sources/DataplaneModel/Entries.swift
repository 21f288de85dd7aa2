import NetAddress

/// Where a route lives in the data plane: a table and a prefix.
public struct RouteKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var table: UInt32
    public var prefix: IPPrefix

    public init(table: UInt32, prefix: IPPrefix) {
        self.table = table
        self.prefix = prefix
    }

    public var description: String { "table \(table) \(prefix)" }

    public static func < (lhs: RouteKey, rhs: RouteKey) -> Bool {
        (lhs.table, lhs.prefix) < (rhs.table, rhs.prefix)
    }
}

/// What a matching route does with a packet.
public enum RouteAction: Hashable, Sendable {
    /// Forward through the next hops of a group in `rl_groups`.
    case forward(group: UInt32)
    /// Drop and count.
    case blackhole
    /// Hand to the node's own stack unchanged.
    case local
}

/// The value of one prefix: its stable counter id and its action.
public struct RouteEntry: Hashable, Sendable {
    /// Key of the route's counters; survives restarts and in-place changes.
    public var id: UInt32
    public var action: RouteAction

    public init(id: UInt32, action: RouteAction) {
        self.id = id
        self.action = action
    }
}

/// One weighted next hop: an egress interface and a gateway (nil: on-link).
public struct NextHop: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var ifindex: UInt32
    public var gateway: IPAddress?
    public var weight: UInt32

    public init(ifindex: UInt32, gateway: IPAddress?, weight: UInt32 = 1) {
        self.ifindex = ifindex
        self.gateway = gateway
        self.weight = weight
    }

    public var description: String {
        "\(gateway.map { "via \($0)" } ?? "on-link") dev #\(ifindex) weight \(weight)"
    }

    public static func < (lhs: NextHop, rhs: NextHop) -> Bool {
        if lhs.ifindex != rhs.ifindex { return lhs.ifindex < rhs.ifindex }
        switch (lhs.gateway, rhs.gateway) {
        case (nil, .some): return true
        case (.some, nil): return false
        case (.some(let a), .some(let b)) where a != b: return a < b
        default: return lhs.weight < rhs.weight
        }
    }
}

/// Packets and bytes, summed over CPUs.
public struct Counter: Hashable, Sendable, Codable {
    public var packets: UInt64
    public var bytes: UInt64

    public init(packets: UInt64 = 0, bytes: UInt64 = 0) {
        self.packets = packets
        self.bytes = bytes
    }

    public static let zero = Counter()

    public static func + (lhs: Counter, rhs: Counter) -> Counter {
        Counter(packets: lhs.packets &+ rhs.packets, bytes: lhs.bytes &+ rhs.bytes)
    }
}

/// Why the router program returned what it did (`enum rl_reason`).
public enum Reason: UInt32, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case forwarded = 0, blackhole, localRoute, notIP, vlan, malformed, noTable, noRoute,
         localAddress, ttl, mtu, noNextHop, redirectFailed, notHost, scope,
         gatewayForwarded, gatewayReply, gatewayNoBackend, gatewayNoPort, gatewayNoRoute,
         gatewayLocal, gatewayNoSocket, gatewayNotTCP, gatewayLocalUnassigned, gatewaySourceRefused, gatewayRateLimited

    public var description: String {
        switch self {
        case .forwarded: "forwarded"
        case .blackhole: "dropped:blackhole"
        case .localRoute: "passed:local-route"
        case .notIP: "passed:not-ip"
        case .vlan: "passed:vlan"
        case .malformed: "passed:malformed"
        case .noTable: "passed:no-table"
        case .noRoute: "passed:no-route"
        case .localAddress: "passed:local-address"
        case .ttl: "passed:ttl"
        case .mtu: "passed:mtu"
        case .noNextHop: "passed:no-nexthop"
        case .redirectFailed: "dropped:redirect-failed"
        case .notHost: "passed:not-host"
        case .scope: "passed:scope"
        case .gatewayForwarded: "gateway:forwarded"
        case .gatewayReply: "gateway:reply"
        case .gatewayNoBackend: "dropped:gateway-no-backend"
        case .gatewayNoPort: "dropped:gateway-no-snat-port"
        case .gatewayNoRoute: "passed:gateway-no-route"
        case .gatewayLocal: "gateway:local"
        case .gatewayNoSocket: "dropped:gateway-no-socket"
        case .gatewayNotTCP: "dropped:gateway-not-tcp"
        case .gatewayLocalUnassigned: "gateway:local-unassigned"
        case .gatewaySourceRefused: "dropped:gateway-source-refused"
        case .gatewayRateLimited: "dropped:gateway-rate-limited"
        }
    }
}

