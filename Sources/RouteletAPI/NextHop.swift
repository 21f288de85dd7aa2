import NetAddress

/// One path of a multipath (ECMP/WCMP) route: an egress interface, an
/// optional gateway, and a weight (1-256, default 1).
public struct NextHop: Codable, Hashable, Sendable {
    /// The gateway's address as written; nil means on-link.
    public var gateway: String?
    /// The egress interface (an exact name); required.
    public var interface: String
    public var weight: Int?

    public static let weightRange = 1...256

    public init(gateway: String? = nil, interface: String, weight: Int? = nil) {
        self.gateway = gateway
        self.interface = interface
        self.weight = weight
    }

    private enum CodingKeys: String, CodingKey {
        case gateway, interface, weight
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        gateway = try container.decodeIfPresent(String.self, forKey: .gateway)
        interface = try container.decodeIfPresent(String.self, forKey: .interface) ?? ""
        weight = try container.decodeIntegerIfPresent(Int.self, forKey: .weight)
    }

    /// The gateway parsed; nil when absent or not an IP address.
    public var gatewayAddress: IPAddress? { gateway.flatMap { IPAddress($0) } }

    /// The weight with its default applied.
    public var effectiveWeight: Int { weight ?? 1 }
}
