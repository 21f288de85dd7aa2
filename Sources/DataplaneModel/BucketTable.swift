import Foundation
import NetAddress

/// The bucket table of a next-hop group: which next hop each of a group's
/// hash buckets sends its flows to. A flow takes the next hop of bucket
/// `hash % count`.
///
/// Filled by weighted rendezvous hashing (Thaler and Ravishankar's highest
/// random weight, with the `-weight / ln(u)` score of Schindelhauer and
/// Schomaker): every next hop draws a pseudo-random score for every bucket
/// from its own identity (interface and gateway, not its place in the
/// group), and the bucket goes to the highest. So the table is a function
/// of the group's next hops alone, and:
/// - a next hop that leaves gives up only its own buckets; every other
///   bucket keeps its next hop;
/// - a next hop that comes back takes back exactly the buckets it had;
/// - changing one next hop's weight moves buckets only to or from it;
/// - each next hop's expected share is its weight over the total.
///
/// Linux's resilient next-hop groups get the same stability by remembering
/// the previous table and moving the fewest buckets; the price here is
/// shares that deviate from the weights by chance (about ±2 % per next hop
/// with 4,096 buckets and three of them), and the gain is that no history
/// is needed: an agent that restarts, or reads a group back from the
/// kernel, computes the same table from the same next hops.
public enum BucketTable {
    /// Indexes into `hops` (in the given order), `count` of them. Empty when
    /// `hops` is empty; weight 0 counts as 1.
    public static func build(_ hops: [NextHop], count: Int) -> [UInt8] {
        precondition(hops.count <= Int(UInt8.max) + 1, "a bucket names its next hop in one byte")
        guard !hops.isEmpty else { return [] }
        let identities = hops.map(identity)
        let weights = hops.map { Double(max($0.weight, 1)) }
        var table = [UInt8](repeating: 0, count: count)
        for bucket in 0..<count {
            var best = 0, bestScore = -Double.infinity
            for index in hops.indices {
                // u uniform in (0, 1); -ln(u) is exponential, and the smallest
                // of the scaled draws -ln(u) / w falls to each next hop with
                // probability w / total.
                let draw = mix(identities[index] ^ (UInt64(bucket) &* 0x9e37_79b9_7f4a_7c15))
                let u = (Double(draw >> 11) + 0.5) / 9_007_199_254_740_992   // 2^53
                let score = weights[index] / -log(u)
                if score > bestScore { (best, bestScore) = (index, score) }
            }
            table[bucket] = UInt8(best)
        }
        return table
    }

    /// A next hop's identity: FNV-1a (64 bits) over its interface and gateway.
    static func identity(_ hop: NextHop) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func add(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        withUnsafeBytes(of: hop.ifindex.littleEndian) { $0.forEach(add) }
        switch hop.gateway?.family {
        case .v4: add(4)
        case .v6: add(6)
        case nil: add(0)
        }
        hop.gateway?.bytes.forEach(add)
        return hash
    }

    /// murmur3's 64-bit finalizer: every input bit moves every output bit.
    static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 33
        x = x &* 0xff51_afd7_ed55_8ccd
        x ^= x >> 33
        x = x &* 0xc4ce_b9fe_1a85_ec53
        x ^= x >> 33
        return x
    }
}
