/// What the aggregator reports about a RouteTable across the nodes it selects.
public struct RouteTableStatus: Codable, Hashable, Sendable {
    /// Counts of nodes for the `NODES` printer column.
    public struct NodeCounts: Codable, Hashable, Sendable {
        public var selected: Int
        /// Nodes that run the current generation without error.
        public var programmed: Int

        public init(selected: Int = 0, programmed: Int = 0) {
            self.selected = selected
            self.programmed = programmed
        }

        private enum CodingKeys: String, CodingKey {
            case selected, programmed
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            selected = try container.decodeIntegerIfPresent(Int.self, forKey: .selected) ?? 0
            programmed = try container.decodeIntegerIfPresent(Int.self, forKey: .programmed) ?? 0
        }
    }

    /// A node that fails to program the table, for a quick look (at most 16 are listed).
    public struct FailingNode: Codable, Hashable, Sendable {
        public var name: String
        public var reason: String
        public var message: String

        public init(name: String, reason: String, message: String) {
            self.name = name
            self.reason = reason
            self.message = message
        }

        private enum CodingKeys: String, CodingKey {
            case name, reason, message
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
            reason = try container.decodeIfPresent(String.self, forKey: .reason) ?? ""
            message = try container.decodeIfPresent(String.self, forKey: .message) ?? ""
        }
    }

    public static let maxFailingNodes = 16

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
        self.nodesReady = nodesReady ?? "\(nodes.programmed)/\(nodes.selected)"
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
