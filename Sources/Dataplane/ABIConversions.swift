import CRouteletABI
import DataplaneModel
import NetAddress

// MARK: - Conversions between the Swift entries and the ABI structs

/// The two LPM keys (`rl_lpm_key_v4`, `rl_lpm_key_v6`): the same layout
/// around addresses of different sizes, converted by one implementation.
protocol LPMKey {
    init()
    associatedtype Address
    var prefixlen: UInt32 { get set }
    var table_id: UInt32 { get set }
    var addr: Address { get set }
}

extension LPMKey {
    init(_ key: RouteKey) {
        self.init()
        prefixlen = 32 + UInt32(key.prefix.length)
        table_id = key.table
        withUnsafeMutableBytes(of: &addr) { $0.copyBytes(from: key.prefix.address.bytes) }
    }

    /// Nil for an entry routelet can't have written (bad length or address).
    var routeKey: RouteKey? {
        let bytes = withUnsafeBytes(of: addr) { Array($0) }
        guard prefixlen >= 32, prefixlen <= 32 + UInt32(bytes.count * 8),
              let address = IPAddress(bytes: bytes),
              let prefix = IPPrefix(address: address, length: Int(prefixlen) - 32)
        else { return nil }
        return RouteKey(table: table_id, prefix: prefix)
    }
}

extension rl_lpm_key_v4: LPMKey {}
extension rl_lpm_key_v6: LPMKey {}

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
        let table = BucketTable.build(nexthops, count: Int(RL_GROUP_BUCKETS))
        withUnsafeMutableBytes(of: &buckets) { $0.copyBytes(from: table) }
    }

    /// Whether the buckets are the table the next hops build: false for a
    /// group changed behind the agent's back (or by another version).
    var bucketsMatchHops: Bool {
        withUnsafeBytes(of: buckets) { $0.elementsEqual(BucketTable.build(hops, count: Int(RL_GROUP_BUCKETS))) }
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
