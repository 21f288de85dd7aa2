/// What the agent on one node actually programmed (cluster-scoped, one per
/// node, named after the node, group `routelet.dev`, version `v1alpha1`);
/// written only by that node's agent. See design/api.md.
public struct RouteletNode: Codable, Hashable, Sendable {
    public static let apiVersion = "routelet.dev/v1alpha1"
    public static let kind = "RouteletNode"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    /// Empty; present so that the object has the usual shape.
    public var spec: RouteletNodeSpec?
    /// Written through the `/status` subresource.
    public var status: RouteletNodeStatus?

    public init(metadata: ObjectMeta, spec: RouteletNodeSpec? = nil, status: RouteletNodeStatus? = nil) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    private enum CodingKeys: String, CodingKey {
        case apiVersion, kind, metadata, spec, status
    }

    /// Lenient, like ``RouteTable``: missing fields become empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion) ?? ""
        kind = try container.decodeIfPresent(String.self, forKey: .kind) ?? ""
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try container.decodeIfPresent(RouteletNodeSpec.self, forKey: .spec)
        status = try container.decodeIfPresent(RouteletNodeStatus.self, forKey: .status)
    }
}
