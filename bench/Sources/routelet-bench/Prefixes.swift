import NetAddress
import NetLab

/// Distinct prefixes with an Internet-like mix of lengths: mostly /24, some
/// /16-/23, few /8-/15 (IPv4); mostly /48, some /32-/47, few /64 (IPv6).
func internetLikePrefixes(count: Int, family: IPAddress.Family, seed: UInt64) -> [IPPrefix] {
    var random = SplitMix64(seed: seed)
    var seen = Set<IPPrefix>()
    var result: [IPPrefix] = []
    result.reserveCapacity(count)
    while result.count < count {
        let roll = Int.random(in: 0..<100, using: &random)
        let prefix: IPPrefix
        switch family {
        case .v4:
            let length = roll < 60 ? 24 : roll < 95 ? Int.random(in: 16...23, using: &random) : Int.random(in: 8...15, using: &random)
            // 1.0.0.0 - 223.255.255.255: unicast space, away from 198.18/15 used by the lab.
            var address = UInt32.random(in: 0x0100_0000...0xdfff_ffff, using: &random)
            if address & 0xfffe_0000 == 0xc612_0000 { address ^= 0x4000_0000 }  // not 198.18.0.0/15
            if address >> 16 == 0xa9fe { address ^= 0x0100_0000 }  // not 169.254.0.0/16 (link-local, the router passes it)
            prefix = IPPrefix(address: IPAddress.v4(address).masked(to: length), length: length)!
        case .v6:
            let length = roll < 60 ? 48 : roll < 95 ? Int.random(in: 32...47, using: &random) : 64
            let high = (UInt64(0x2400) << 48) | UInt64.random(in: 0...(1 << 48 - 1), using: &random)
            prefix = IPPrefix(address: IPAddress.v6(high, 0).masked(to: length), length: length)!
        }
        if seen.insert(prefix).inserted { result.append(prefix) }
    }
    return result
}

/// An address inside `prefix`, never link-local (169.254/16, which the
/// router passes by scope) when the prefix covers it.
func address(in prefix: IPPrefix, using random: inout SplitMix64) -> IPAddress {
    while true {
        let address = prefix.randomAddress(using: &random)
        if case .v4(let value) = address, value >> 16 == 0xa9fe, prefix.length < 16 { continue }
        return address
    }
}
