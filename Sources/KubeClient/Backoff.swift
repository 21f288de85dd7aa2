/// Exponential backoff with jitter: `initial` after the first failure,
/// doubling with each consecutive one up to `maximum`, each delay scaled by
/// a factor drawn uniformly from `1 - jitter ..< 1 + jitter` (so the cap can
/// be exceeded by that fraction). The one formula for the watches (800 ms to
/// 30 s, client-go's), the reconcile loop's retries and the status writers.
public struct Backoff: Sendable {
    public var initial: Duration
    public var maximum: Duration
    public var jitter: Double
    /// Consecutive failures so far (``next()`` counts, ``reset()`` clears).
    public private(set) var failures = 0

    public init(initial: Duration, maximum: Duration, jitter: Double = 0.2) {
        precondition(initial > .zero && maximum >= initial, "backoff must be 0 < initial <= maximum")
        precondition((0...1).contains(jitter), "backoff jitter is a fraction in 0...1")
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
    }

    /// The delay after `failures` consecutive failures (1: the first), for a
    /// uniform `draw` in 0..<1 (a draw of one half gives no jitter).
    public func delay(afterFailures failures: Int, draw: Double) -> Duration {
        var base = initial
        for _ in 1..<max(failures, 1) where base < maximum {
            base = base * 2
        }
        base = min(base, maximum)
        guard jitter > 0 else { return base }
        let factor = 1 + jitter * (2 * draw - 1)
        let (seconds, attoseconds) = base.components
        let nanoseconds = Double(seconds) * 1e9 + Double(attoseconds) / 1e9
        return .nanoseconds(Int64((nanoseconds * factor).rounded()))
    }

    /// Counts one more failure and returns the delay before the next attempt.
    public mutating func next() -> Duration {
        failures += 1
        return delay(afterFailures: failures, draw: Double.random(in: 0..<1))
    }

    public mutating func reset() { failures = 0 }
}
