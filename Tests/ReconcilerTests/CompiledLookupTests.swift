import DataplaneModel
import Testing

@Suite struct CompiledLookupTests {
    typealias Prefix = CompiledLookupV4.Prefix

    /// The oracle: the longest live prefix that contains the address.
    static func naive(_ routes: [Prefix: UInt32], _ address: UInt32) -> UInt32? {
        for length in stride(from: 32, through: 0, by: -1) {
            if let id = routes[Prefix(address: address, length: length)] { return id }
        }
        return nil
    }

    @Test func randomEditsMatchLongestPrefixMatch() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var state = seed
        // SplitMix64 (NetLab's is not a dependency of this target).
        func next() -> UInt64 { state &+= 0x9E37_79B9_7F4A_7C15; var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9; z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB; return z ^ (z >> 31) }
        var table = CompiledLookupV4()
        var routes: [Prefix: UInt32] = [:]
        // Clustered in 10.0.0.0/12 so that prefixes overlap and chunks fill.
        func randomPrefix() -> Prefix {
            let lengths = [8, 12, 16, 20, 22, 24, 24, 25, 26, 28, 30, 32, 32]
            let length = lengths[Int(next() % UInt64(lengths.count))]
            return Prefix(address: 0x0A00_0000 | UInt32(truncatingIfNeeded: next()) & 0x000F_FFFF, length: length)
        }
        var nextID: UInt32 = 1
        var live: [Prefix] = []
        for step in 0..<3000 {
            let prefix = randomPrefix()
            if next() % 3 == 0, !live.isEmpty {
                // Victims come from the seeded generator too, so the seed replays a failure.
                live.swapAt(Int(next() % UInt64(live.count)), live.count - 1)
                let victim = live.removeLast()
                table.remove(victim); routes[victim] = nil
            } else {
                if routes[prefix] == nil { live.append(prefix) }
                table.set(prefix, routeID: nextID); routes[prefix] = nextID; nextID += 1
            }
            if step % 100 == 99 {
                for _ in 0..<2000 {
                    let address = 0x0A00_0000 | UInt32(truncatingIfNeeded: next()) & 0x000F_FFFF
                    #expect(table.lookup(address) == Self.naive(routes, address), "seed \(seed) step \(step) address \(address)")
                }
            }
        }
        for victim in routes.keys { table.remove(victim) }
        #expect(table.routeCount == 0)
        #expect(table.chunkCount == 0)
        #expect(table.lookup(0x0A00_0001) == nil)
    }

    @Test func defaultRouteUnderneathEverything() {
        var table = CompiledLookupV4()
        table.set(Prefix(address: 0x0A01_0200, length: 25), routeID: 7)
        table.set(Prefix(address: 0, length: 0), routeID: 1)
        #expect(table.lookup(0x0A01_0201) == 7)
        #expect(table.lookup(0x0A01_0281) == 1)
        #expect(table.lookup(0xC000_0201) == 1)
        table.remove(Prefix(address: 0x0A01_0200, length: 25))
        #expect(table.chunkCount == 0)
        #expect(table.lookup(0x0A01_0201) == 1)
        table.remove(Prefix(address: 0, length: 0))
        #expect(table.lookup(0x0A01_0201) == nil)
    }

    @Test func replacingARouteTouchesOnlyItsEntries() {
        var table = CompiledLookupV4()
        table.set(Prefix(address: 0x0A00_0000, length: 8), routeID: 1)
        table.set(Prefix(address: 0x0A01_0000, length: 16), routeID: 2)
        let before = table.stores
        table.set(Prefix(address: 0x0A01_0000, length: 16), routeID: 3)
        #expect(table.stores - before == 256)
        #expect(table.lookup(0x0A01_0203) == 3)
        #expect(table.lookup(0x0A02_0203) == 1)
    }
}
