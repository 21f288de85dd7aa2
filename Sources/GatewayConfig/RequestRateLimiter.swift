import Synchronization

/// A route's `rateLimit` for HTTP: a token bucket per client address,
/// `requestsPerSecond` refill, `burst` size; a client's first request finds
/// a full bucket. Thread-safe: every event loop of the gateway shares one
/// limiter per route, so the rate holds whatever loop a connection is on.
///
/// At most `maxClients` buckets are kept: past that, the buckets that have
/// refilled (clients idle for `burst / requestsPerSecond` seconds, which a
/// new bucket would equal) are dropped, and if that frees nothing, every
/// bucket is (a flood of distinct addresses resets the state rather than
/// growing memory without bound).
public final class RequestRateLimiter: Sendable {
    public enum Decision: Equatable, Sendable {
        case allowed
        /// No token left: answer 429; a token is back in this many seconds (at least 1).
        case limited(retryAfterSeconds: Int)
    }

    public let config: HTTPRateLimitConfig
    private let maxClients: Int
    private let clock: @Sendable () -> UInt64
    private let buckets = Mutex<[String: Bucket]>([:])

    private struct Bucket {
        var tokens: Double
        var lastNanoseconds: UInt64
    }

    /// `clock`: monotonic nanoseconds (tests pass their own).
    public init(_ config: HTTPRateLimitConfig, maxClients: Int = 100_000,
                clock: @escaping @Sendable () -> UInt64 = RequestRateLimiter.monotonicNanoseconds) {
        self.config = config
        self.maxClients = maxClients
        self.clock = clock
    }

    private var rate: Double { Double(max(config.requestsPerSecond, 1)) }
    private var capacity: Double { Double(max(config.burst, config.requestsPerSecond, 1)) }

    /// Takes a token for one request of `client`.
    public func take(client: String) -> Decision {
        let now = clock()
        return buckets.withLock { buckets in
            var bucket = buckets[client] ?? {
                if buckets.count >= maxClients { prune(&buckets, now: now) }
                return Bucket(tokens: capacity, lastNanoseconds: now)
            }()
            let elapsed = Double(now &- bucket.lastNanoseconds) / 1e9
            bucket.tokens = min(capacity, bucket.tokens + max(0, elapsed) * rate)
            bucket.lastNanoseconds = now
            defer { buckets[client] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return .allowed
            }
            return .limited(retryAfterSeconds: max(1, Int(((1 - bucket.tokens) / rate).rounded(.up))))
        }
    }

    /// Clients with a bucket now.
    public var clientCount: Int { buckets.withLock { $0.count } }

    private func prune(_ buckets: inout [String: Bucket], now: UInt64) {
        let refill = capacity / rate * 1e9
        buckets = buckets.filter { Double(now &- $0.value.lastNanoseconds) < refill }
        if buckets.count >= maxClients { buckets.removeAll(keepingCapacity: true) }
    }

    private static let start = ContinuousClock.now

    /// Nanoseconds on the monotonic clock since the first use.
    public static let monotonicNanoseconds: @Sendable () -> UInt64 = {
        let elapsed = start.duration(to: .now).components
        return UInt64(elapsed.seconds) * 1_000_000_000 + UInt64(elapsed.attoseconds / 1_000_000_000)
    }
}
