import KubeClient
import Testing

@Suite struct BackoffTests {
    @Test func delaysDoubleToTheCapWithinTheJitterAndResetAfterSuccess() {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
        let expected: [Double] = [0.1, 0.2, 0.4, 0.8, 1, 1, 1]
        for base in expected {
            let delay = backoff.next()
            #expect(delay >= .milliseconds(Int64(base * 800)) && delay <= .milliseconds(Int64(base * 1200)), "\(delay) for \(base) s")
        }
        #expect(backoff.failures == expected.count)
        backoff.reset()
        #expect(backoff.next() <= .milliseconds(120))
        // Far past the cap, no overflow.
        #expect(Backoff(initial: .milliseconds(1), maximum: .seconds(30), jitter: 0).delay(afterFailures: 10_000, draw: 0) == .seconds(30))
    }
}
