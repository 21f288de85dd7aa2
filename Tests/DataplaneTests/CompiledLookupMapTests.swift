import CLibbpf
import Dataplane
import DataplaneModel
import Foundation
import Testing

/// The compiled lookup's array in the kernel: written through the mmap, seen
/// by the kernel's own lookups, pinned, and adopted by a later opening.
@Suite(.serialized) struct CompiledLookupMapTests {
    typealias Prefix = CompiledLookupV4.Prefix
    typealias Record = CompiledLookupV4.Record

    @Test func writesThroughTheMappingAndIsAdoptedFromThePin() throws {
        let pins = try TestPins()
        defer { pins.remove() }
        try FileManager.default.createDirectory(atPath: pins.directory, withIntermediateDirectories: true)
        let layout = CompiledLookupV4.Layout.sized(routes: 3, chunks: 1)
        var routes: [Prefix: Record] = [:]
        do {
            let map = try CompiledLookupMap(tableID: 7, layout: layout, pinDirectory: pins.directory)
            #expect(try CompiledLookupMap.openPinned(tableID: 7, pinDirectory: pins.directory) == nil, "nothing pinned yet")
            routes[Prefix(address: 0x0A00_0000, length: 8)] = Record(routeID: 11, groupID: 1, type: 1)
            routes[Prefix(address: 0x0A01_0000, length: 16)] = Record(routeID: 12, groupID: 0, type: 2)
            routes[Prefix(address: 0x0A01_0280, length: 25)] = Record(routeID: 13, groupID: 2, type: 1)
            for (prefix, record) in routes.sorted(by: { $0.key < $1.key }) { try map.table.set(prefix, record) }
            try map.pin()

            // The kernel's copy of a first-level row and of the chunk is what was written through the mapping.
            for row in [0x0A01_02 >> 8, Int(map.table.words[0x0A01_02] & ~CompiledLookupV4.chunkFlag)] {
                var key = UInt32(row)
                var value = [UInt32](repeating: 0, count: 256)
                #expect(bpf_map_lookup_elem(map.fd.rawValue, &key, &value) == 0)
                #expect(value == Array(UnsafeBufferPointer(start: map.table.words + row * 256, count: 256)), "row \(row)")
            }
        }

        // Nobody holds the array now but the pin; a new opening adopts it.
        let adopted = try #require(try CompiledLookupMap.openPinned(tableID: 7, pinDirectory: pins.directory))
        #expect(adopted.table.routes == routes)
        #expect(adopted.table.mismatchedEntries() == 0)
        #expect(adopted.table.lookup(0x0A01_0281)?.routeID == 13)
        #expect(adopted.table.lookup(0x0A01_0201)?.routeID == 12)
        #expect(adopted.table.lookup(0x0A02_0201)?.routeID == 11)
        #expect(adopted.bytes == layout.rows * 1024)
        #expect(try CompiledLookupMap.openPinned(tableID: 8, pinDirectory: pins.directory) == nil)
        #expect(Dataplane.pins(in: pins.directory).contains("rl_lookup_v4_7"))
    }

    @Test func aPinThatIsNotATableIsNotAdopted() throws {
        let pins = try TestPins()
        defer { pins.remove() }
        try FileManager.default.createDirectory(atPath: pins.directory, withIntermediateDirectories: true)
        let map = try CompiledLookupMap(tableID: 9, layout: .sized(routes: 1, chunks: 1), pinDirectory: pins.directory)
        try map.pin()
        map.table.words[CompiledLookupV4.Layout.headerRow * 256] = 0 // the magic
        #expect(try CompiledLookupMap.openPinned(tableID: 9, pinDirectory: pins.directory) == nil)
        map.table.words[CompiledLookupV4.Layout.headerRow * 256] = CompiledLookupV4.Layout.magic
        #expect(try CompiledLookupMap.openPinned(tableID: 9, pinDirectory: pins.directory) != nil)
        // Table 9's array under table 10's pin name.
        #expect(rename(map.pinPath, CompiledLookupMap.pinPath(tableID: 10, pinDirectory: pins.directory)) == 0)
        #expect(try CompiledLookupMap.openPinned(tableID: 10, pinDirectory: pins.directory) == nil)
    }
}
