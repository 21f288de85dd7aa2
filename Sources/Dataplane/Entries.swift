import CRouteletABI
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
         localAddress, ttl, mtu, noNextHop, redirectFailed, notHost, scope

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
        }
    }
}

// The header and this enum must agree; a test checks every case too.
extension Reason {
    static let abiCount = Int(RL_REASON_COUNT.rawValue)
}

// MARK: - Conversions between the Swift entries and the ABI structs

extension rl_lpm_key_v4 {
    init(_ key: RouteKey) {
        self.init()
        prefixlen = 32 + UInt32(key.prefix.length)
        table_id = key.table
        withUnsafeMutableBytes(of: &addr) { $0.copyBytes(from: key.prefix.address.bytes) }
    }

    var routeKey: RouteKey? {
        guard prefixlen >= 32, prefixlen <= 64,
              let address = IPAddress(bytes: withUnsafeBytes(of: addr) { Array($0) }),
              let prefix = IPPrefix(address: address, length: Int(prefixlen) - 32)
        else { return nil }
        return RouteKey(table: table_id, prefix: prefix)
    }
}

extension rl_lpm_key_v6 {
    init(_ key: RouteKey) {
        self.init()
        prefixlen = 32 + UInt32(key.prefix.length)
        table_id = key.table
        withUnsafeMutableBytes(of: &addr) { $0.copyBytes(from: key.prefix.address.bytes) }
    }

    var routeKey: RouteKey? {
        guard prefixlen >= 32, prefixlen <= 160,
              let address = IPAddress(bytes: withUnsafeBytes(of: addr) { Array($0) }),
              let prefix = IPPrefix(address: address, length: Int(prefixlen) - 32)
        else { return nil }
        return RouteKey(table: table_id, prefix: prefix)
    }
}

extension rl_route {
    init(_ entry: RouteEntry) {
        self.init()
        id = entry.id
        switch entry.action {
        case .forward(let group):
            type = UInt8(RL_ROUTE_UNICAST.rawValue)
            group_id = group
        case .blackhole:
            type = UInt8(RL_ROUTE_BLACKHOLE.rawValue)
        case .local:
            type = UInt8(RL_ROUTE_LOCAL.rawValue)
        }
    }

    var entry: RouteEntry? {
        switch UInt32(type) {
        case RL_ROUTE_UNICAST.rawValue: RouteEntry(id: id, action: .forward(group: group_id))
        case RL_ROUTE_BLACKHOLE.rawValue: RouteEntry(id: id, action: .blackhole)
        case RL_ROUTE_LOCAL.rawValue: RouteEntry(id: id, action: .local)
        default: nil
        }
    }
}

extension rl_group {
    /// Nil when `nexthops` is empty or longer than RL_MAX_NEXTHOPS.
    init?(_ nexthops: [NextHop]) {
        guard !nexthops.isEmpty, nexthops.count <= Int(RL_MAX_NEXTHOPS) else { return nil }
        self.init()
        count = UInt32(nexthops.count)
        total_weight = nexthops.reduce(0) { $0 + $1.weight }
        withUnsafeMutableBytes(of: &self.nexthops) { raw in
            for (index, hop) in nexthops.enumerated() {
                var value = rl_nexthop()
                value.ifindex = hop.ifindex
                value.weight = hop.weight
                if let gateway = hop.gateway {
                    value.family = UInt8(gateway.family == .v4 ? RL_AF_INET : RL_AF_INET6)
                    withUnsafeMutableBytes(of: &value.gateway) { $0.copyBytes(from: gateway.bytes) }
                }
                raw.storeBytes(of: value, toByteOffset: index * MemoryLayout<rl_nexthop>.stride, as: rl_nexthop.self)
            }
        }
    }

    var hops: [NextHop] {
        let count = min(Int(count), Int(RL_MAX_NEXTHOPS))
        return withUnsafeBytes(of: nexthops) { raw in
            (0..<count).map { index in
                let value = raw.loadUnaligned(fromByteOffset: index * MemoryLayout<rl_nexthop>.stride, as: rl_nexthop.self)
                let bytes = withUnsafeBytes(of: value.gateway) { Array($0) }
                let gateway: IPAddress? = switch Int32(value.family) {
                case RL_AF_INET: IPAddress(bytes: bytes.prefix(4))
                case RL_AF_INET6: IPAddress(bytes: bytes)
                default: nil
                }
                return NextHop(ifindex: value.ifindex, gateway: gateway, weight: value.weight)
            }
        }
    }
}

extension rl_addr_key {
    init(_ address: IPAddress) {
        self.init()
        family = UInt8(address.family == .v4 ? RL_AF_INET : RL_AF_INET6)
        withUnsafeMutableBytes(of: &addr) { $0.copyBytes(from: address.bytes) }
    }

    var address: IPAddress? {
        let bytes = withUnsafeBytes(of: addr) { Array($0) }
        switch Int32(family) {
        case RL_AF_INET: return IPAddress(bytes: bytes.prefix(4))
        case RL_AF_INET6: return IPAddress(bytes: bytes)
        default: return nil
        }
    }
}
