/// What a GatewayRoute listener speaks: `HTTP` and `HTTPS` are served by
/// `routelet gateway`, `TCP` and `UDP` entirely in eBPF. Any other text
/// still decodes, so that validation can report it.
public struct GatewayProtocol: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let http: GatewayProtocol = "HTTP"
    public static let https: GatewayProtocol = "HTTPS"
    public static let tcp: GatewayProtocol = "TCP"
    public static let udp: GatewayProtocol = "UDP"
    public static let allKnown: [GatewayProtocol] = [.http, .https, .tcp, .udp]
    /// TCP or UDP: routed by listener alone, in eBPF.
    public var isLayer4: Bool { self == .tcp || self == .udp }
    /// HTTP or HTTPS: routed per request by the gateway.
    public var isHTTP: Bool { self == .http || self == .https }
}
