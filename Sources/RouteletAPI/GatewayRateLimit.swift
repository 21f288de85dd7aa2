/// A per-client-address token bucket: requests (HTTP, HTTPS; over it: 429)
/// or new flows (TCP, UDP; over it: dropped in eBPF) per second.
public struct GatewayRateLimit: Codable, Hashable, Sendable {
    /// The refill rate, 1-1000000 per second; 0 when missing.
    public var requestsPerSecond: Int
    /// The bucket size, requestsPerSecond-10000000; default requestsPerSecond.
    public var burst: Int?

    public static let requestsPerSecondRange = 1...1_000_000
    public static let maxBurst = 10_000_000

    public init(requestsPerSecond: Int, burst: Int? = nil) {
        self.requestsPerSecond = requestsPerSecond
        self.burst = burst
    }

    private enum CodingKeys: String, CodingKey {
        case requestsPerSecond, burst
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        requestsPerSecond = try container.decodeIntegerIfPresent(Int.self, forKey: .requestsPerSecond) ?? 0
        burst = try container.decodeIntegerIfPresent(Int.self, forKey: .burst)
    }

    /// The burst with its default applied.
    public var effectiveBurst: Int { burst ?? requestsPerSecond }
}
