/// What a RouteTable asks for: which nodes, which ingress interfaces, which routes.
public struct RouteTableSpec: Codable, Hashable, Sendable {
    /// Nodes the table applies to; nil means every node.
    public var nodeSelector: LabelSelector?
    /// Ingress attach points: interface names or shell globs (1-64).
    public var interfaces: [String]
    /// 0-10000 routes.
    public var routes: [Route]

    public static let interfaceCountRange = 1...64
    public static let maxRoutes = 10_000

    public init(nodeSelector: LabelSelector? = nil, interfaces: [String], routes: [Route] = []) {
        self.nodeSelector = nodeSelector
        self.interfaces = interfaces
        self.routes = routes
    }

    private enum CodingKeys: String, CodingKey {
        case nodeSelector, interfaces, routes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        nodeSelector = try container.decodeIfPresent(LabelSelector.self, forKey: .nodeSelector)
        interfaces = try container.decodeIfPresent([String].self, forKey: .interfaces) ?? []
        routes = try container.decodeIfPresent([Route].self, forKey: .routes) ?? []
    }

    /// The interfaces parsed; entries that are not valid patterns are left out.
    public var interfacePatterns: [InterfacePattern] { interfaces.compactMap { InterfacePattern($0) } }

    /// Whether the table applies to a node with `labels` (no selector: every node).
    public func selects(nodeLabels labels: [String: String]) -> Bool {
        nodeSelector?.matches(labels) ?? true
    }
}
