import NetAddress

/// Where a GatewayRoute listens: an address, a port and a protocol, with
/// the options of that protocol. Fields keep the text as written, so that a
/// bad value still decodes and validation can name it.
public struct GatewayListener: Codable, Hashable, Sendable {
    /// An IPv4 or IPv6 address, not one of the node's own.
    public var address: String
    /// 1-65535; 0 when missing.
    public var port: Int
    public var `protocol`: GatewayProtocol
    /// HTTPS only, and required there.
    public var tls: GatewayTLS?
    /// TCP and UDP only: true = DNAT only (the client's address reaches the
    /// backend); false (default) = also SNAT to the node's address.
    public var preserveClientIP: Bool?
    /// TCP and UDP only: the size of the listener's Maglev table, a prime in
    /// ``maglevTableSizeRange``; default ``defaultMaglevTableSize``.
    public var maglevTableSize: Int?
    /// TCP and UDP only: how long an idle flow keeps its backend and NAT
    /// (1-604800 s); default 21600 for TCP, 60 for UDP.
    public var idleTimeoutSeconds: Int?

    public static let portRange = 1...65535
    public static let defaultMaglevTableSize = 16381
    public static let maglevTableSizeRange = 251...131_071
    public static let idleTimeoutRange = 1...604_800
    public static let defaultTCPIdleTimeoutSeconds = 21600
    public static let defaultUDPIdleTimeoutSeconds = 60

    public init(
        address: String = "", port: Int = 0, protocol: GatewayProtocol = "", tls: GatewayTLS? = nil,
        preserveClientIP: Bool? = nil, maglevTableSize: Int? = nil, idleTimeoutSeconds: Int? = nil
    ) {
        self.address = address
        self.port = port
        self.protocol = `protocol`
        self.tls = tls
        self.preserveClientIP = preserveClientIP
        self.maglevTableSize = maglevTableSize
        self.idleTimeoutSeconds = idleTimeoutSeconds
    }

    private enum CodingKeys: String, CodingKey {
        case address, port, `protocol`, tls, preserveClientIP, maglevTableSize, idleTimeoutSeconds
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        address = try container.decodeIfPresent(String.self, forKey: .address) ?? ""
        port = try container.decodeIntegerIfPresent(Int.self, forKey: .port) ?? 0
        `protocol` = try container.decodeIfPresent(GatewayProtocol.self, forKey: .protocol) ?? ""
        tls = try container.decodeIfPresent(GatewayTLS.self, forKey: .tls)
        preserveClientIP = try container.decodeIfPresent(Bool.self, forKey: .preserveClientIP)
        maglevTableSize = try container.decodeIntegerIfPresent(Int.self, forKey: .maglevTableSize)
        idleTimeoutSeconds = try container.decodeIntegerIfPresent(Int.self, forKey: .idleTimeoutSeconds)
    }

    /// The address parsed; nil when it is not an IP address.
    public var addressValue: IPAddress? { IPAddress(address) }

    /// The protocol when it is one of the four; nil otherwise.
    public var effectiveProtocol: GatewayProtocol? { `protocol`.isKnown ? `protocol` : nil }

    /// Whether the client's address reaches the backend (no SNAT); default false.
    public var effectivePreserveClientIP: Bool { preserveClientIP ?? false }

    /// The Maglev table size with its default applied.
    public var effectiveMaglevTableSize: Int { maglevTableSize ?? Self.defaultMaglevTableSize }

    /// How long an idle TCP or UDP flow is kept, with the protocol's default
    /// applied; nil for HTTP and HTTPS (the gateway has its own timeouts).
    public var effectiveIdleTimeout: Duration? {
        switch `protocol` {
        case .tcp: .seconds(idleTimeoutSeconds ?? Self.defaultTCPIdleTimeoutSeconds)
        case .udp: .seconds(idleTimeoutSeconds ?? Self.defaultUDPIdleTimeoutSeconds)
        default: nil
        }
    }

    /// "10.96.0.10:80/TCP", "[2001:db8::10]:443/HTTPS": the listener as the
    /// status' `listener` shows it (the address as written when it does not parse).
    public var displayText: String {
        let host = addressValue.map { $0.family == .v6 ? "[\($0)]" : "\($0)" } ?? address
        return "\(host):\(port)/\(`protocol`)"
    }
}

/// The certificate of an HTTPS listener.
public struct GatewayTLS: Codable, Hashable, Sendable {
    /// A `kubernetes.io/tls` Secret in the route's namespace.
    public var secretName: String

    public init(secretName: String) {
        self.secretName = secretName
    }

    private enum CodingKeys: String, CodingKey {
        case secretName
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        secretName = try container.decodeIfPresent(String.self, forKey: .secretName) ?? ""
    }
}
