/// How many nodes a RouteTable or GatewayRoute selects, and how many of them
/// run its current generation without error (the `NODES` printer column).
public struct NodeCounts: Codable, Hashable, Sendable {
    public var selected: Int
    /// Nodes that run the current generation without error.
    public var programmed: Int

    public init(selected: Int = 0, programmed: Int = 0) {
        self.selected = selected
        self.programmed = programmed
    }

    /// `programmed/selected`, e.g. "2/3", for the status' `nodesReady`.
    public var readyText: String { "\(programmed)/\(selected)" }

    private enum CodingKeys: String, CodingKey {
        case selected, programmed
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        selected = try container.decodeIntegerIfPresent(Int.self, forKey: .selected) ?? 0
        programmed = try container.decodeIntegerIfPresent(Int.self, forKey: .programmed) ?? 0
    }
}
