/// How many of a GatewayRoute's backends have a ready endpoint, of all its
/// backends (per node in a RouteletNode, across nodes in the GatewayRoute).
public struct BackendCounts: Codable, Hashable, Sendable {
    public var ready: Int
    public var total: Int

    public init(ready: Int = 0, total: Int = 0) {
        self.ready = ready
        self.total = total
    }

    /// `ready/total`, e.g. "4/5", for the status' `backendsReady`.
    public var readyText: String { "\(ready)/\(total)" }

    private enum CodingKeys: String, CodingKey {
        case ready, total
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        ready = try container.decodeIntegerIfPresent(Int.self, forKey: .ready) ?? 0
        total = try container.decodeIntegerIfPresent(Int.self, forKey: .total) ?? 0
    }
}
