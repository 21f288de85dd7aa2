import DataplaneModel
import NetAddress
import Testing

@Suite struct CompiledLookupTests {
    typealias Prefix = CompiledLookupV4.Prefix
    typealias Record = CompiledLookupV4.Record
    static let layout = CompiledLookupV4.Layout(slotCapacity: 4096, chunkCapacity: 1024)

    static func record(_ id: UInt32) -> Record { Record(routeID: id, groupID: id % 7, type: 1) }

    /// The oracle: the longest live prefix that contains the address.
    static func naive(_ routes: [Prefix: UInt32], _ address: UInt32) -> UInt32? {
        for length in stride(from: 32, through: 0, by: -1) {
            if let id = routes[Prefix(address: address, length: length)] { return id }
        }
        return nil
    }

    @Test func randomEditsMatchLongestPrefixMatch() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var state = seed
        // SplitMix64 (NetLab's is not a dependency of this target).
        func next() -> UInt64 { state &+= 0x9E37_79B9_7F4A_7C15; var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9; z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB; return z ^ (z >> 31) }
        // A clock that moves 1 ms a step: freed slots and chunks are reused
        // after ten steps, while entries of other routes still change.
        var clock: UInt64 = 0
        let table = CompiledLookupV4(layout: Self.layout, now: { clock })
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
            clock += 1_000_000
            let prefix = randomPrefix()
            if next() % 3 == 0, !live.isEmpty {
                // Victims come from the seeded generator too, so the seed replays a failure.
                live.swapAt(Int(next() % UInt64(live.count)), live.count - 1)
                let victim = live.removeLast()
                table.remove(victim); routes[victim] = nil
            } else {
                if routes[prefix] == nil { live.append(prefix) }
                try table.set(prefix, Self.record(nextID)); routes[prefix] = nextID; nextID += 1
            }
            if step % 100 == 99 {
                for _ in 0..<2000 {
                    let address = 0x0A00_0000 | UInt32(truncatingIfNeeded: next()) & 0x000F_FFFF
                    #expect(table.lookup(address)?.routeID == Self.naive(routes, address), "seed \(seed) step \(step) address \(address)")
                }
            }
        }
        #expect(table.mismatchedEntries() == 0, "seed \(seed)")
        #expect(table.routes.mapValues(\.routeID) == routes)
        for victim in routes.keys { table.remove(victim) }
        #expect(table.routeCount == 0)
        #expect(table.chunkCount == 0)
        #expect(table.lookup(0x0A00_0001) == nil)
    }

    @Test func prefixesFromIPv4PrefixesOnly() {
        #expect(Prefix(IPPrefix("10.1.2.0/24")!) == Prefix(address: 0x0A01_0200, length: 24))
        #expect(Prefix(IPPrefix("0.0.0.0/0")!) == Prefix(address: 0, length: 0))
        #expect(Prefix(IPPrefix("2001:db8::/32")!) == nil)
    }

    @Test func defaultRouteUnderneathEverything() throws {
        let table = CompiledLookupV4(layout: Self.layout)
        try table.set(Prefix(address: 0x0A01_0200, length: 25), Self.record(7))
        try table.set(Prefix(address: 0, length: 0), Self.record(1))
        #expect(table.lookup(0x0A01_0201)?.routeID == 7)
        #expect(table.lookup(0x0A01_0281)?.routeID == 1)
        #expect(table.lookup(0xC000_0201)?.routeID == 1)
        table.remove(Prefix(address: 0x0A01_0200, length: 25))
        #expect(table.chunkCount == 0)
        #expect(table.lookup(0x0A01_0201)?.routeID == 1)
        table.remove(Prefix(address: 0, length: 0))
        #expect(table.lookup(0x0A01_0201) == nil)
    }

    @Test func replacingARouteTouchesOnlyItsEntries() throws {
        let table = CompiledLookupV4(layout: Self.layout)
        try table.set(Prefix(address: 0x0A00_0000, length: 8), Self.record(1))
        try table.set(Prefix(address: 0x0A01_0000, length: 16), Self.record(2))
        let before = table.stores
        try table.set(Prefix(address: 0x0A01_0000, length: 16), Self.record(3))
        #expect(table.stores - before == 256)
        #expect(table.lookup(0x0A01_0203)?.routeID == 3)
        #expect(table.lookup(0x0A02_0203)?.routeID == 1)
        // The same record again: nothing to write.
        try table.set(Prefix(address: 0x0A01_0000, length: 16), Self.record(3))
        #expect(table.stores - before == 256)
    }

    @Test func freedSlotsWaitOutTheQuarantine() throws {
        var clock: UInt64 = 0
        let layout = CompiledLookupV4.Layout(slotCapacity: 64, chunkCapacity: 1)
        let table = CompiledLookupV4(layout: layout, now: { clock })
        // Slot 0 is unused: 63 routes fill the table.
        for i in 0..<63 { try table.set(Prefix(address: 0x0A00_0000 | UInt32(i) << 8, length: 24), Self.record(UInt32(i + 1))) }
        #expect(throws: CompiledLookupV4.Full.self) { try table.set(Prefix(address: 0x0B00_0000, length: 8), Self.record(99)) }
        #expect(table.lookup(0x0B00_0001) == nil, "a set that throws changes nothing")
        table.remove(Prefix(address: 0x0A00_0000, length: 24))
        clock += CompiledLookupV4.quarantineNanoseconds - 1
        #expect(throws: CompiledLookupV4.Full.self) { try table.set(Prefix(address: 0x0B00_0000, length: 8), Self.record(99)) }
        clock += 1
        try table.set(Prefix(address: 0x0B00_0000, length: 8), Self.record(99))
        #expect(table.lookup(0x0B00_0001)?.routeID == 99)
    }

    @Test func aTableWithoutAFreeChunkRefusesALongPrefix() throws {
        let table = CompiledLookupV4(layout: CompiledLookupV4.Layout(slotCapacity: 64, chunkCapacity: 1))
        try table.set(Prefix(address: 0x0A00_0100, length: 25), Self.record(1))
        try table.set(Prefix(address: 0x0A00_0180, length: 25), Self.record(2)) // the same chunk
        #expect(throws: CompiledLookupV4.Full.self) { try table.set(Prefix(address: 0x0A00_0200, length: 25), Self.record(3)) }
        #expect(table.lookup(0x0A00_0201) == nil)
        #expect(table.routeCount == 2)
    }

    @Test func adoptsWhatAnotherWriterLeft() throws {
        let first = CompiledLookupV4(layout: Self.layout, tableID: 42)
        try first.set(Prefix(address: 0x0A00_0000, length: 8), Self.record(1))
        try first.set(Prefix(address: 0x0A01_0200, length: 26), Self.record(2))
        try first.set(Prefix(address: 0x0A01_0000, length: 16), Self.record(3))
        try first.set(Prefix(address: 0x0A01_0000, length: 16), Self.record(4)) // frees a slot
        try first.set(Prefix(address: 0x0A02_0000, length: 24), Self.record(5))
        first.remove(Prefix(address: 0x0A02_0000, length: 24))
        let copy = UnsafeMutablePointer<UInt32>.allocate(capacity: Self.layout.words)
        defer { copy.deallocate() }
        copy.update(from: first.words, count: Self.layout.words)

        let adopted = try #require(CompiledLookupV4(adopting: copy, layout: Self.layout))
        #expect(adopted.tableID == 42)
        #expect(adopted.routes == first.routes)
        #expect(adopted.chunkCount == 1)
        #expect(adopted.mismatchedEntries() == 0)
        adopted.remove(Prefix(address: 0x0A01_0200, length: 26))
        #expect(adopted.chunkCount == 0)
        #expect(adopted.lookup(0x0A01_0201)?.routeID == 4)
        #expect(CompiledLookupV4(adopting: copy, layout: CompiledLookupV4.Layout(slotCapacity: 128, chunkCapacity: 1024)) == nil,
                "another layout's header")
    }

    @Test func findsEntriesChangedBehindItsBack() throws {
        let table = CompiledLookupV4(layout: Self.layout)
        try table.set(Prefix(address: 0x0A00_0000, length: 8), Self.record(1))
        try table.set(Prefix(address: 0x0A01_0000, length: 16), Self.record(2))
        try table.set(Prefix(address: 0x0A01_0280, length: 25), Self.record(3))
        #expect(table.mismatchedEntries() == 0)
        table.words[0x0A_0101] = 0 // a hole under the /16
        #expect(table.mismatchedEntries() == 1)
        table.words[0x0A_0101] = 0x7fff_fff0 // a slot that does not exist
        #expect(table.mismatchedEntries() == 1)
        table.words[0x0A_0101] = table.words[0x0A_0001] // the /8's slot where the /16 is longer
        #expect(table.mismatchedEntries() == 1)
        table.words[0x0A_0101] = table.words[0x0A_0100]
        #expect(table.mismatchedEntries() == 0)
        table.words[0x0A_0102] = CompiledLookupV4.chunkFlag | 3 // a chunk row inside the first level
        #expect(table.mismatchedEntries() == 256)
    }
}
