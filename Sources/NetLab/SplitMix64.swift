import Foundation

/// A small seeded random source (SplitMix64), for tests and benchmarks: a
/// failing random case is replayed with its seed, and generated garbage is
/// the same every run of the same seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A number in `range`.
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        Int.random(in: range, using: &self)
    }

    /// The seed in `variable` when it is set (to replay a failure), else a
    /// fresh one; printed either way, and put in every failure message by
    /// the caller.
    public static func seed(for test: String, variable: String = "API_FUZZ_SEED") -> UInt64 {
        let seed = ProcessInfo.processInfo.environment[variable].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64.max)
        print("\(test): seed \(seed) (\(variable)=\(seed) replays it)")
        return seed
    }
}
