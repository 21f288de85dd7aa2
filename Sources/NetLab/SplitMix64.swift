import Foundation
import NetAddress

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

extension IPPrefix {
    /// An address inside the prefix, its host bits drawn from `random`.
    public func randomAddress(using random: inout SplitMix64) -> IPAddress {
        switch address {
        case .v4(let base):
            let host = length >= 32 ? 0 : UInt32.random(in: 0...UInt32.max, using: &random) & (UInt32.max >> UInt32(length))
            return .v4(base | host)
        case .v6(let high, let low):
            let hostHigh = length >= 64 ? 0 : UInt64.random(in: 0...UInt64.max, using: &random) & (UInt64.max >> UInt64(length))
            let hostLow = length >= 128 ? 0 : length <= 64 ? UInt64.random(in: 0...UInt64.max, using: &random)
                : UInt64.random(in: 0...UInt64.max, using: &random) & (UInt64.max >> UInt64(length - 64))
            return .v6(high | hostHigh, low | hostLow)
        }
    }
}
