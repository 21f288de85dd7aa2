/// What the aggregator reports about a RouteTable across the nodes it selects.
public struct RouteTableStatus: Codable, Hashable, Sendable {
    /// Counts of nodes for the `NODES` printer column (shared with GatewayRoute).
    public typealias NodeCounts = RouteletAPI.NodeCounts
    /// A node that fails to program the table (shared with GatewayRoute).
    public typealias FailingNode = RouteletAPI.FailingNode

    public static let maxFailingNodes = FailingNode.maxListed

    public var observedGeneration: Int64?
    /// The number of routes in the spec.
    public var routes: Int
    public var nodes: NodeCounts
    /// `programmed/selected` as text, e.g. "2/3".
    public var nodesReady: String
    public var conditions: [Condition]
    public var failingNodes: [FailingNode]

    public init(
        observedGeneration: Int64? = nil, routes: Int = 0, nodes: NodeCounts = NodeCounts(), nodesReady: String? = nil,
        conditions: [Condition] = [], failingNodes: [FailingNode] = []
    ) {
        self.observedGeneration = observedGeneration
        self.routes = routes
        self.nodes = nodes
        self.nodesReady = nodesReady ?? nodes.readyText
        self.conditions = conditions
        self.failingNodes = failingNodes
    }

    private enum CodingKeys: String, CodingKey {
        case observedGeneration, routes, nodes, nodesReady, conditions, failingNodes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        observedGeneration = try container.decodeIntegerIfPresent(Int64.self, forKey: .observedGeneration)
        routes = try container.decodeIntegerIfPresent(Int.self, forKey: .routes) ?? 0
        nodes = try container.decodeIfPresent(NodeCounts.self, forKey: .nodes) ?? NodeCounts()
        nodesReady = try container.decodeIfPresent(String.self, forKey: .nodesReady) ?? ""
        conditions = try container.decodeIfPresent([Condition].self, forKey: .conditions) ?? []
        failingNodes = try container.decodeIfPresent([FailingNode].self, forKey: .failingNodes) ?? []
    }

    /// The condition of the given type, if reported.
    public func condition(_ type: String) -> Condition? {
        conditions.first { $0.type == type }
    }
}
