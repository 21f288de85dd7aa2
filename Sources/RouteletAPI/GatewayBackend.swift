import NetAddress

/// Where a GatewayRule sends traffic: a Service (resolved through its
/// EndpointSlices) or static addresses and a port, with a weight.
public struct GatewayBackend: Codable, Hashable, Sendable {
    /// A Service in the route's namespace; instead of `addresses`.
    public var service: GatewayServiceRef?
    /// Static addresses of the listener's family; instead of `service`.
    public var addresses: [String]?
    /// The port of `addresses` (1-65535); required with them.
    public var port: Int?
    /// Share of the traffic, 0-1000000, default 1; 0 drains (no new traffic).
    public var weight: Int?

    public static let weightRange = 0...1_000_000
    public static let maxAddresses = 64

    public init(service: GatewayServiceRef? = nil, addresses: [String]? = nil, port: Int? = nil, weight: Int? = nil) {
        self.service = service
        self.addresses = addresses
        self.port = port
        self.weight = weight
    }

    private enum CodingKeys: String, CodingKey {
        case service, addresses, port, weight
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        service = try container.decodeIfPresent(GatewayServiceRef.self, forKey: .service)
        addresses = try container.decodeIfPresent([String].self, forKey: .addresses)
        port = try container.decodeIntegerIfPresent(Int.self, forKey: .port)
        weight = try container.decodeIntegerIfPresent(Int.self, forKey: .weight)
    }

    /// The weight with its default applied.
    public var effectiveWeight: Int { weight ?? 1 }

    /// The static addresses parsed; entries that are not IP addresses are left out.
    public var addressValues: [IPAddress] { (addresses ?? []).compactMap { IPAddress($0) } }
}

/// A Service port a backend sends to, in the route's namespace.
public struct GatewayServiceRef: Codable, Hashable, Sendable {
    /// The Service's name (a DNS-1035 label).
    public var name: String
    /// The Service's port (`spec.ports[].port`), 1-65535; 0 when missing.
    public var port: Int

    public init(name: String, port: Int) {
        self.name = name
        self.port = port
    }

    private enum CodingKeys: String, CodingKey {
        case name, port
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
        port = try container.decodeIntegerIfPresent(Int.self, forKey: .port) ?? 0
    }
}
