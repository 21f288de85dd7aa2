import GatewayConfig
import Synchronization
import Testing

@Suite struct RequestRateLimiterTests {
    /// A clock the test moves by hand (nanoseconds).
    final class FakeClock: Sendable {
        let now = Mutex<UInt64>(1_000_000_000)
        func advance(seconds: Double) { now.withLock { $0 += UInt64(seconds * 1e9) } }
        var read: @Sendable () -> UInt64 { { self.now.withLock { $0 } } }
    }

    @Test func aBurstThenTheRateAndEachClientHasItsOwnBucket() {
        let clock = FakeClock()
        let limiter = RequestRateLimiter(HTTPRateLimitConfig(requestsPerSecond: 2, burst: 3), clock: clock.read)
        let first = (0..<4).map { _ in limiter.take(client: "a") }
        #expect(first == [.allowed, .allowed, .allowed, .limited(retryAfterSeconds: 1)])
        #expect(limiter.take(client: "b") == .allowed)
        clock.advance(seconds: 0.5)   // one token at 2/s
        #expect(limiter.take(client: "a") == .allowed)
        #expect(limiter.take(client: "a") == .limited(retryAfterSeconds: 1))
        clock.advance(seconds: 60)    // never more than the burst
        #expect((0..<4).map { _ in limiter.take(client: "a") }.filter { $0 == .allowed }.count == 3)
    }

    @Test func retryAfterSaysWhenTheNextTokenIsBack() {
        let clock = FakeClock()
        let limiter = RequestRateLimiter(HTTPRateLimitConfig(requestsPerSecond: 1, burst: 1), clock: clock.read)
        #expect(limiter.take(client: "a") == .allowed)
        #expect(limiter.take(client: "a") == .limited(retryAfterSeconds: 1))
        clock.advance(seconds: 0.999)
        #expect(limiter.take(client: "a") == .limited(retryAfterSeconds: 1))
        clock.advance(seconds: 0.002)
        #expect(limiter.take(client: "a") == .allowed)
    }

    @Test func aFloodOfDistinctClientsIsBoundedAndKeepsNobodyOut() {
        let clock = FakeClock()
        let limiter = RequestRateLimiter(HTTPRateLimitConfig(requestsPerSecond: 1, burst: 1), maxClients: 100, clock: clock.read)
        for index in 0..<1000 { #expect(limiter.take(client: "c\(index)") == .allowed) }
        #expect(limiter.clientCount <= 100)
        // Buckets that refilled are the ones dropped first.
        clock.advance(seconds: 2)
        #expect(limiter.take(client: "new") == .allowed)
        #expect(limiter.clientCount <= 100)
    }
}
