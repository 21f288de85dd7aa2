/// A routing table for the nodes it selects (cluster-scoped, group
/// `routelet.dev`, version `v1alpha1`); see design/api.md.
public struct RouteTable: Codable, Hashable, Sendable {
    public static let apiVersion = "routelet.dev/v1alpha1"
    public static let kind = "RouteTable"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: RouteTableSpec
    /// Written only by the agent, through the `/status` subresource.
    public var status: RouteTableStatus?

    public init(metadata: ObjectMeta, spec: RouteTableSpec, status: RouteTableStatus? = nil) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    private enum CodingKeys: String, CodingKey {
        case apiVersion, kind, metadata, spec, status
    }

    /// Lenient: missing fields become empty so that validation, not
    /// decoding, reports them, all at once.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion) ?? ""
        kind = try container.decodeIfPresent(String.self, forKey: .kind) ?? ""
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try container.decodeIfPresent(RouteTableSpec.self, forKey: .spec) ?? RouteTableSpec(interfaces: [])
        status = try container.decodeIfPresent(RouteTableStatus.self, forKey: .status)
    }
}
