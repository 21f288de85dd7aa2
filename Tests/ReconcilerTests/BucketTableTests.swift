import DataplaneModel
import Foundation
import NetAddress
import Testing

/// The bucket table of a next-hop group (`BucketTable`): stable when next
/// hops leave, come back or change weight; shares follow the weights.
@Suite struct BucketTableTests {
    let buckets = 4096

    func hop(_ n: Int, weight: UInt32 = 1) -> NextHop {
        NextHop(ifindex: UInt32(10 + n), gateway: IPAddress("192.0.2.\(n)"), weight: weight)
    }

    /// The next hop each bucket names.
    func owners(_ hops: [NextHop]) -> [NextHop] {
        BucketTable.build(hops, count: buckets).map { hops[Int($0)] }
    }

    @Test func aNextHopThatLeavesGivesUpOnlyItsBucketsAndTakesThemAllBackWhenItReturns() {
        for size in [2, 3, 5, 16] {
            let all = (1...size).map { hop($0) }
            let before = owners(all)
            for leaving in all {
                let after = owners(all.filter { $0 != leaving })
                let moved = (0..<buckets).filter { before[$0] != after[$0] }
                #expect(moved.allSatisfy { before[$0] == leaving }, "\(size) hops, \(leaving) left: a bucket of another hop moved")
                #expect(moved.count == before.filter { $0 == leaving }.count, "\(size) hops: every bucket of \(leaving) moved")
            }
            // And back: the same table, whatever the order the hops are listed in.
            #expect(owners(all.reversed()) == before, "\(size) hops: the table depends on the order of the list")
        }
    }

    @Test func aWeightChangeMovesBucketsOnlyToOrFromThatNextHop() {
        let base = [hop(1), hop(2, weight: 2), hop(3, weight: 3)]
        let before = owners(base)
        for weight: UInt32 in [1, 4, 9, 256] {
            let changed = [hop(1), hop(2, weight: weight), hop(3, weight: 3)]
            let after = owners(changed)
            let moved = (0..<buckets).filter { before[$0].ifindex != after[$0].ifindex }
            let viaHop2 = moved.allSatisfy { before[$0].ifindex == hop(2).ifindex || after[$0].ifindex == hop(2).ifindex }
            #expect(viaHop2, "weight 2 -> \(weight): a bucket moved between the two unchanged hops")
            #expect(!moved.isEmpty, "weight 2 -> \(weight) moved nothing")
        }
    }

    @Test func sharesFollowTheWeights() {
        let cases: [[UInt32]] = [[1, 1], [1, 1, 1], [1, 3], [1, 2, 3, 4], [5, 5, 5, 5, 5, 5, 5, 5], [1, 256]]
        for weights in cases {
            let hops = weights.enumerated().map { hop($0.offset + 1, weight: $0.element) }
            let table = BucketTable.build(hops, count: buckets)
            let total = Double(weights.reduce(0, +))
            for (index, weight) in weights.enumerated() {
                let share = Double(table.filter { Int($0) == index }.count) / Double(buckets)
                let expected = Double(weight) / total
                // Four standard deviations of a binomial draw over the buckets.
                let allowed = 4 * (expected * (1 - expected) / Double(buckets)).squareRoot() + 0.0005
                #expect(abs(share - expected) <= allowed, "weights \(weights): hop \(index) has \(share), expected \(expected) ± \(allowed)")
            }
        }
    }

    @Test func everyBucketNamesANextHopOfTheGroupAndOnlyTheNextHopsCount() {
        #expect(BucketTable.build([], count: buckets).isEmpty)
        #expect(BucketTable.build([hop(1)], count: buckets) == [UInt8](repeating: 0, count: buckets))
        let hops = (1...16).map { hop($0, weight: UInt32($0)) }
        let table = BucketTable.build(hops, count: buckets)
        #expect(table.count == buckets && table.allSatisfy { Int($0) < hops.count })
        #expect(Set(table).count == 16, "every one of 16 hops owns a bucket")
        // An on-link hop and a gateway hop on the same interface are two hops,
        // and so is the same gateway on another interface (hops that looked
        // the same would draw the same scores, and the first would win all).
        let onLink = NextHop(ifindex: 11, gateway: nil), viaGateway = hop(1), elsewhere = NextHop(ifindex: 12, gateway: hop(1).gateway)
        #expect(Set(BucketTable.build([onLink, viaGateway], count: buckets)).count == 2)
        #expect(Set(BucketTable.build([viaGateway, elsewhere], count: buckets)).count == 2)
    }
}
