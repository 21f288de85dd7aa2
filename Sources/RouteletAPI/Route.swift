import NetAddress

/// One route of a RouteTable: a destination prefix and what to do with
/// packets for it. Fields keep the text as written, so that a bad value
/// still decodes and validation can name it; parsed forms are computed.
public struct Route: Codable, Hashable, Sendable {
    /// An IPv4 or IPv6 CIDR with no host bits set, e.g. "10.0.0.0/8".
    public var destination: String
    /// The next hop's address; nil means on-link.
    public var gateway: String?
    /// The egress interface (an exact name).
    public var interface: String?
    /// Lower wins among routes for the same prefix; default 0.
    public var metric: UInt32?
    /// Default Unicast.
    public var type: RouteType?
    /// Multipath next hops, instead of `gateway`/`interface`. One whose
    /// interface is down or missing on a node leaves the group there.
    public var nexthops: [NextHop]?

    public init(
        destination: String, gateway: String? = nil, interface: String? = nil, metric: UInt32? = nil,
        type: RouteType? = nil, nexthops: [NextHop]? = nil
    ) {
        self.destination = destination
        self.gateway = gateway
        self.interface = interface
        self.metric = metric
        self.type = type
        self.nexthops = nexthops
    }

    private enum CodingKeys: String, CodingKey {
        case destination, gateway, interface, metric, type, nexthops
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        destination = try container.decodeIfPresent(String.self, forKey: .destination) ?? ""
        gateway = try container.decodeIfPresent(String.self, forKey: .gateway)
        interface = try container.decodeIfPresent(String.self, forKey: .interface)
        metric = try container.decodeIntegerIfPresent(UInt32.self, forKey: .metric)
        type = try container.decodeIfPresent(RouteType.self, forKey: .type)
        nexthops = try container.decodeIfPresent([NextHop].self, forKey: .nexthops)
    }

    /// The destination parsed; nil unless it is a canonical CIDR.
    public var destinationPrefix: IPPrefix? { IPPrefix(destination) }

    /// The gateway parsed; nil when absent or not an IP address.
    public var gatewayAddress: IPAddress? { gateway.flatMap { IPAddress($0) } }

    /// The metric with its default applied.
    public var effectiveMetric: UInt32 { metric ?? 0 }

    /// The type with its default applied.
    public var effectiveType: RouteType { type ?? .unicast }
}
