/// What a GatewayRoute's access log records beyond the fixed fields: the
/// request headers it names (HTTP and HTTPS by the gateway; TCP from each
/// flow's first segment, in eBPF).
public struct GatewayAccessLog: Codable, Hashable, Sendable {
    /// 0-16 header names (HTTP tokens, distinct case-insensitively).
    public var headers: [String]

    public static let maxHeaders = 16

    public init(headers: [String] = []) {
        self.headers = headers
    }

    private enum CodingKeys: String, CodingKey {
        case headers
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        headers = try container.decodeIfPresent([String].self, forKey: .headers) ?? []
    }
}
