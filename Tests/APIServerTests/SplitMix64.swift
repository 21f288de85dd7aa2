import Foundation

/// A small seeded random source (SplitMix64), so that a failing random test
/// can be replayed with its seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// API_FUZZ_SEED when set (to replay a failure), else a fresh one;
    /// printed either way, and put in every failure message by the caller.
    static func seed(for test: String) -> UInt64 {
        let seed = ProcessInfo.processInfo.environment["API_FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64.max)
        print("\(test): seed \(seed) (API_FUZZ_SEED=\(seed) replays it)")
        return seed
    }
}
