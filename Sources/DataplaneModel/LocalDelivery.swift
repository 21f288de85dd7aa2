import NetAddress

/// How the gateway stage's HTTP/HTTPS packets reach the local `routelet
/// gateway`: the skb->mark bits the program sets on them, and the policy
/// routing that delivers marked packets locally (`ip rule pref PRIORITY
/// fwmark MARK/MASK lookup TABLE`, `local default dev lo table TABLE`, per
/// family). The defaults are the ABI header's RL_GATEWAY_* constants
/// (ABITests holds them equal).
public struct LocalDeliverySettings: Hashable, Sendable, CustomStringConvertible {
    public var mark: UInt32
    public var mask: UInt32
    public var table: UInt32
    public var priority: UInt32

    /// The rtnetlink protocol number routelet tags its rules and routes with.
    public static let protocolNumber: UInt8 = 114

    public static let `default` = LocalDeliverySettings(mark: 0x2000_0000, mask: 0x2000_0000, table: 29292, priority: 29)

    public init(mark: UInt32, mask: UInt32, table: UInt32, priority: UInt32) {
        self.mark = mark
        self.mask = mask
        self.table = table
        self.priority = priority
    }

    /// The mark as the program applies it.
    public var gatewayMark: GatewayMark { GatewayMark(mark: mark, mask: mask) }

    public var description: String {
        "fwmark 0x\(String(mark, radix: 16))/0x\(String(mask, radix: 16)) pref \(priority) lookup \(table)"
    }
}

/// The skb->mark bits the program sets on packets it hands to the local
/// gateway: (mark & ~mask) | bits.
public struct GatewayMark: Hashable, Sendable, CustomStringConvertible {
    public var mark: UInt32
    public var mask: UInt32

    public init(mark: UInt32, mask: UInt32) {
        self.mark = mark
        self.mask = mask
    }

    public var description: String { "0x\(String(mark, radix: 16))/0x\(String(mask, radix: 16))" }
}

/// What the kernel holds of routelet's local delivery (its rules and
/// routes, found by their protocol number).
public enum LocalDeliveryState: Hashable, Sendable, CustomStringConvertible {
    /// No rule or route of routelet's.
    case absent
    /// Exactly one policy, for these families.
    case installed(LocalDeliverySettings, families: Set<IPAddress.Family>)
    /// routelet's rules and routes, but not one policy (a rule without
    /// its route, two marks, ...): to be rewritten or removed.
    case inconsistent(String)

    public var description: String {
        switch self {
        case .absent: "absent"
        case .installed(let settings, let families):
            "\(settings) (\([IPAddress.Family.v4, .v6].filter { families.contains($0) }.map(\.description).joined(separator: ", ")))"
        case .inconsistent(let what): "inconsistent: \(what)"
        }
    }
}
