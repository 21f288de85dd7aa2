/// An API-gateway route (namespaced, group `routelet.dev`, version
/// `v1alpha1`): a listener on the selected nodes and rules that send
/// matching traffic to weighted backends; see design/api.md and gateway.md.
public struct GatewayRoute: Codable, Hashable, Sendable {
    public static let apiVersion = "routelet.dev/v1alpha1"
    public static let kind = "GatewayRoute"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: GatewayRouteSpec
    /// Written only by the agent, through the `/status` subresource.
    public var status: GatewayRouteStatus?

    public init(metadata: ObjectMeta, spec: GatewayRouteSpec, status: GatewayRouteStatus? = nil) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    private enum CodingKeys: String, CodingKey {
        case apiVersion, kind, metadata, spec, status
    }

    /// Lenient, like ``RouteTable``: missing fields become empty so that
    /// validation, not decoding, reports them, all at once.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion) ?? ""
        kind = try container.decodeIfPresent(String.self, forKey: .kind) ?? ""
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try container.decodeIfPresent(GatewayRouteSpec.self, forKey: .spec) ?? GatewayRouteSpec()
        status = try container.decodeIfPresent(GatewayRouteStatus.self, forKey: .status)
    }
}
