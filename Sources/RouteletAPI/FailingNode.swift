/// A node that fails to program a RouteTable or GatewayRoute, listed in the
/// resource's status for a quick look (at most ``maxListed`` of them).
public struct FailingNode: Codable, Hashable, Sendable {
    /// How many failing nodes a status lists; the rest are in the RouteletNodes.
    public static let maxListed = 16

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
