/// One rule of a GatewayRoute: the requests it takes (any of `matches`; HTTP
/// and HTTPS only) and the weighted backends it sends them to.
public struct GatewayRule: Codable, Hashable, Sendable {
    /// 0-8 matches, OR-ed; nil or empty takes every request (and is the only
    /// form TCP and UDP rules have).
    public var matches: [HTTPMatch]?
    /// 1-16 backends.
    public var backends: [GatewayBackend]

    public static let maxMatches = 8
    public static let backendCountRange = 1...16

    public init(matches: [HTTPMatch]? = nil, backends: [GatewayBackend] = []) {
        self.matches = matches
        self.backends = backends
    }

    private enum CodingKeys: String, CodingKey {
        case matches, backends
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        matches = try container.decodeIfPresent([HTTPMatch].self, forKey: .matches)
        backends = try container.decodeIfPresent([GatewayBackend].self, forKey: .backends) ?? []
    }
}
