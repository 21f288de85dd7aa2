/// What the aggregator reports about a GatewayRoute across the nodes it
/// selects: the same node counts as a RouteTable's, and its backends.
public struct GatewayRouteStatus: Codable, Hashable, Sendable {
    public static let maxFailingNodes = FailingNode.maxListed

    public var observedGeneration: Int64?
    /// The listener as text, e.g. "10.96.0.10:80/TCP" (``GatewayListener/displayText``).
    public var listener: String
    /// The number of rules in the spec.
    public var rules: Int
    public var backends: BackendCounts
    /// `ready/total` as text, e.g. "4/5".
    public var backendsReady: String
    public var nodes: NodeCounts
    /// `programmed/selected` as text, e.g. "2/3".
    public var nodesReady: String
    /// `Accepted`, `ResolvedRefs` and `Programmed`.
    public var conditions: [Condition]
    public var failingNodes: [FailingNode]

    /// A status; `backendsReady` and `nodesReady` follow the counts unless given.
    public init(
        observedGeneration: Int64? = nil, listener: String = "", rules: Int = 0, backends: BackendCounts = BackendCounts(),
        backendsReady: String? = nil, nodes: NodeCounts = NodeCounts(), nodesReady: String? = nil,
        conditions: [Condition] = [], failingNodes: [FailingNode] = []
    ) {
        self.observedGeneration = observedGeneration
        self.listener = listener
        self.rules = rules
        self.backends = backends
        self.backendsReady = backendsReady ?? backends.readyText
        self.nodes = nodes
        self.nodesReady = nodesReady ?? nodes.readyText
        self.conditions = conditions
        self.failingNodes = failingNodes
    }

    private enum CodingKeys: String, CodingKey {
        case observedGeneration, listener, rules, backends, backendsReady, nodes, nodesReady, conditions, failingNodes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        observedGeneration = try container.decodeIntegerIfPresent(Int64.self, forKey: .observedGeneration)
        listener = try container.decodeIfPresent(String.self, forKey: .listener) ?? ""
        rules = try container.decodeIntegerIfPresent(Int.self, forKey: .rules) ?? 0
        backends = try container.decodeIfPresent(BackendCounts.self, forKey: .backends) ?? BackendCounts()
        backendsReady = try container.decodeIfPresent(String.self, forKey: .backendsReady) ?? ""
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
