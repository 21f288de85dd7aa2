import NetAddress
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// DIR-24-8 for one IPv4 table: a 2^24 first level indexed by the top 24
/// bits, 256-entry chunks for prefixes longer than /24, and entries that
/// name a route slot (docs/dataplane.md, "Compiled lookup").
///
/// It works in place on the memory it is given, laid out as the kernel's
/// array (``Layout``): the agent hands it the mmap of a `BPF_F_MMAPABLE`
/// map, tests and the verifier a heap buffer. There is no second copy of
/// the entries; what the agent keeps beside them is the prefix -> slot
/// index and the free lists, rebuilt from the memory when it adopts a table
/// a previous process wrote.
///
/// Entry encoding: 0 = no route; bit 31 set = the absolute row of a chunk;
/// else a slot. Each entry is one aligned 32-bit store. A record is written
/// (then a release fence) before any entry names it, and a chunk is filled
/// (then a fence) before the entry that names it is published, so a reader
/// sees the old route or the new one, never none. A changed route gets a
/// new slot; freed slots and chunks wait out a quarantine before reuse, and
/// a freed record keeps its route, so a packet that read an old entry still
/// finds what it named.
public final class CompiledLookupV4 {
    /// Bit 31 of an entry: the rest is a chunk's row.
    public static let chunkFlag: UInt32 = 1 << 31
    /// What freed slots and chunks wait before reuse: far longer than any
    /// program run that could have read the old entry.
    public static let quarantineNanoseconds: UInt64 = 10_000_000

    public struct Prefix: Hashable, Sendable, Comparable {
        public var address: UInt32
        public var length: Int
        public init(address: UInt32, length: Int) {
            precondition((0...32).contains(length))
            self.address = length == 0 ? 0 : address & ~UInt32(0) << (32 - length)
            self.length = length
        }
        /// An IPv4 prefix; nil for IPv6.
        public init?(_ prefix: IPPrefix) {
            guard prefix.family == .v4 else { return nil }
            self.init(address: prefix.address.bytes.reduce(0) { $0 << 8 | UInt32($1) }, length: prefix.length)
        }

        public static func < (a: Prefix, b: Prefix) -> Bool {
            (a.length, a.address) < (b.length, b.address)
        }
    }

    /// What a slot holds for the program: the route's id, group and type
    /// (the first 12 bytes of a record, laid out as `struct rl_route`).
    public struct Record: Hashable, Sendable {
        public var routeID: UInt32
        public var groupID: UInt32
        public var type: UInt8
        public init(routeID: UInt32, groupID: UInt32, type: UInt8) {
            self.routeID = routeID
            self.groupID = groupID
            self.type = type
        }
    }

    /// The memory layout, in 32-bit words; rows of 256 words (1 KiB) are the
    /// values of the kernel's array. Rows [0, 65536): the first level (256
    /// entries per row); row 65536: the header; then the records, 64 of
    /// 16 bytes per row (route id, group id, type | prefix length << 8,
    /// prefix address); then the chunks, one per row.
    public struct Layout: Hashable, Sendable {
        public static let rowWords = 256
        public static let firstLevelRows = 65536
        public static let headerRow = 65536
        public static let firstRecordRow = 65537
        public static let recordsPerRow = 64
        public static let recordWords = 4
        /// The header's first word.
        public static let magic: UInt32 = 0x524C_4458 // "RLDX"
        public static let version: UInt32 = 1
        /// A record's prefix length byte once its slot is freed.
        static let freeLength: UInt32 = 0xff

        /// Slots, including the unused slot 0; a multiple of 64.
        public let slotCapacity: Int
        public let chunkCapacity: Int

        public init(slotCapacity: Int, chunkCapacity: Int) {
            precondition(slotCapacity >= Self.recordsPerRow && chunkCapacity >= 1)
            self.slotCapacity = (slotCapacity + Self.recordsPerRow - 1) / Self.recordsPerRow * Self.recordsPerRow
            self.chunkCapacity = chunkCapacity
        }

        /// Room for `routes` routes needing `chunks` chunks, with a quarter
        /// more for changes (a changed route takes a new slot for a while).
        public static func sized(routes: Int, chunks: Int) -> Layout {
            Layout(slotCapacity: 1 + routes + routes / 4 + 1024, chunkCapacity: chunks + chunks / 4 + 64)
        }

        public var firstChunkRow: Int { Self.firstRecordRow + slotCapacity / Self.recordsPerRow }
        public var rows: Int { firstChunkRow + chunkCapacity }
        public var words: Int { rows * Self.rowWords }
        public var bytes: Int { words * 4 }
    }

    /// No free slot or chunk is left (past its quarantine): the table
    /// needs a bigger array (``Layout/sized(routes:chunks:)``).
    public struct Full: Error, Sendable, CustomStringConvertible {
        public var layout: Layout
        public var description: String {
            "the compiled table is full (\(layout.slotCapacity) slots, \(layout.chunkCapacity) chunks)"
        }
    }

    public let layout: Layout
    public let tableID: UInt32
    /// The words; `layout.words` of them.
    public let words: UnsafeMutablePointer<UInt32>
    /// Entry stores done so far, first level and chunks (each one aligned
    /// 32-bit store); records and the header are not counted.
    public private(set) var stores = 0

    private let owned: Bool
    private let now: () -> UInt64
    private var slotOf: [Prefix: UInt32] = [:]
    private var slotHighWater = 1
    private var chunkHighWater = 0
    private var freeSlots = Quarantine()
    private var freeChunks = Quarantine()

    /// A table of its own, on the heap, zeroed.
    public convenience init(layout: Layout, tableID: UInt32 = 0, now: @escaping () -> UInt64 = CompiledLookupV4.monotonicNow) {
        let words = UnsafeMutablePointer<UInt32>.allocate(capacity: layout.words)
        words.initialize(repeating: 0, count: layout.words)
        self.init(words: words, layout: layout, tableID: tableID, owned: true, now: now)
        writeHeader()
    }

    /// A new table in `words` (zeroed memory the caller keeps alive, such as
    /// a fresh map's mmap).
    public convenience init(formatting words: UnsafeMutablePointer<UInt32>, layout: Layout, tableID: UInt32,
                            now: @escaping () -> UInt64 = CompiledLookupV4.monotonicNow) {
        self.init(words: words, layout: layout, tableID: tableID, owned: false, now: now)
        writeHeader()
    }

    /// Adopts the table a previous writer left in `words`: the prefix ->
    /// slot index from the live records, the free slots and chunks from what
    /// no entry or live record uses. Nil when the header is not this
    /// layout's, or the records contradict each other (one prefix in two
    /// live slots): such a table is rebuilt, not adopted.
    public convenience init?(adopting words: UnsafeMutablePointer<UInt32>, layout: Layout,
                             now: @escaping () -> UInt64 = CompiledLookupV4.monotonicNow) {
        let header = words + Layout.headerRow * Layout.rowWords
        guard header[0] == Layout.magic, header[1] == Layout.version, header[3] == UInt32(layout.slotCapacity),
              header[4] == UInt32(layout.chunkCapacity), header[5] >= 1, Int(header[5]) <= layout.slotCapacity,
              Int(header[6]) <= layout.chunkCapacity else { return nil }
        self.init(words: words, layout: layout, tableID: header[2], owned: false, now: now)
        slotHighWater = Int(header[5])
        chunkHighWater = Int(header[6])
        for slot in 1..<slotHighWater {
            guard let prefix = prefix(ofSlot: UInt32(slot)) else {
                freeSlots.append(UInt32(slot), at: 0)
                continue
            }
            guard slotOf.updateValue(UInt32(slot), forKey: prefix) == nil else { return nil }
        }
        var used = Set<Int>()
        for index in 0..<1 << 24 where words[index] & Self.chunkFlag != 0 {
            used.insert(Int(words[index] & ~Self.chunkFlag) - layout.firstChunkRow)
        }
        for chunk in 0..<chunkHighWater where !used.contains(chunk) { freeChunks.append(UInt32(chunk), at: 0) }
    }

    private init(words: UnsafeMutablePointer<UInt32>, layout: Layout, tableID: UInt32, owned: Bool, now: @escaping () -> UInt64) {
        self.words = words
        self.layout = layout
        self.tableID = tableID
        self.owned = owned
        self.now = now
    }

    deinit {
        if owned { words.deallocate() }
    }

    public static func monotonicNow() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    public var routeCount: Int { slotOf.count }
    public var chunkCount: Int { chunkHighWater - freeChunks.count }
    /// Every route, by prefix.
    public var routes: [Prefix: Record] {
        slotOf.mapValues { record(ofSlot: $0) }
    }

    /// The route for `address`, or nil: what the program finds.
    public func lookup(_ address: UInt32) -> Record? {
        var entry = words[Int(address >> 8)]
        if entry & Self.chunkFlag != 0 {
            entry = words[Int(entry & ~Self.chunkFlag) * Layout.rowWords + Int(address & 0xff)]
        }
        return entry == 0 ? nil : record(ofSlot: entry)
    }

    /// The prefix whose slot `address`'s entry names, or nil.
    func prefix(at address: UInt32) -> Prefix? {
        var entry = words[Int(address >> 8)]
        if entry & Self.chunkFlag != 0 {
            entry = words[Int(entry & ~Self.chunkFlag) * Layout.rowWords + Int(address & 0xff)]
        }
        return entry == 0 ? nil : prefix(ofSlot: entry)
    }

    /// Adds or replaces the route of `prefix`. Throws ``Full`` before
    /// changing anything when no slot (or no chunk it needs) is free.
    public func set(_ prefix: Prefix, _ record: Record) throws(Full) {
        let old = slotOf[prefix]
        if let old, self.record(ofSlot: old) == record { return }
        if prefix.length > 24, words[Int(prefix.address >> 8)] & Self.chunkFlag == 0, !canAllocateChunk() {
            throw Full(layout: layout)
        }
        let slot = try allocateSlot()
        writeRecord(slot, record, prefix: prefix)
        if let old {
            repaint(prefix, from: old, to: slot)
            release(old)
        } else {
            paint(prefix, slot: slot)
        }
        slotOf[prefix] = slot
    }

    /// Removes the route of `prefix`; its addresses fall back to the longest
    /// shorter prefix that covers them.
    public func remove(_ prefix: Prefix) {
        guard let slot = slotOf.removeValue(forKey: prefix) else { return }
        var parent: UInt32 = 0
        for length in stride(from: prefix.length - 1, through: 0, by: -1) {
            if let s = slotOf[Prefix(address: prefix.address, length: length)] { parent = s; break }
        }
        repaint(prefix, from: slot, to: parent)
        if prefix.length > 24 { foldChunk(at: Int(prefix.address >> 8)) }
        release(slot)
    }

    /// The entries that do not name what the live records say they should
    /// (the longest live prefix covering each address), counted over every
    /// address range of the first level and the chunks; entries naming a
    /// free slot or no valid row count too. Builds the expected table on the
    /// heap, so it costs one table's memory for the call.
    public func mismatchedEntries() -> Int {
        let long = Set(slotOf.keys.filter { $0.length > 24 }.map { $0.address >> 8 }).count
        let expected = CompiledLookupV4(layout: Layout(slotCapacity: max(Layout.recordsPerRow, slotOf.count + 1), chunkCapacity: max(1, long)), now: { 0 })
        for (prefix, slot) in slotOf.sorted(by: { $0.key < $1.key }) {
            // Sized to fit: one slot per route, one chunk per /24 with longer prefixes.
            guard (try? expected.set(prefix, record(ofSlot: slot))) != nil else { return 1 << 24 }
        }
        var mismatches = 0
        for index in 0..<1 << 24 {
            let mine = words[index], theirs = expected.words[index]
            if mine & Self.chunkFlag == 0, theirs & Self.chunkFlag == 0 {
                if entryPrefix(mine) != expected.entryPrefix(theirs) { mismatches += 1 }
                continue
            }
            for low in 0..<256 {
                let address = UInt32(index) << 8 | UInt32(low)
                if resolvedPrefix(address) != expected.resolvedPrefix(address) { mismatches += 1 }
            }
        }
        return mismatches
    }

    /// `.some(prefix)`, `.some(nil)` for no route, nil for an invalid entry.
    private func entryPrefix(_ entry: UInt32) -> Prefix?? {
        guard entry != 0 else { return .some(nil) }
        guard entry & Self.chunkFlag == 0, Int(entry) < slotHighWater, let prefix = prefix(ofSlot: entry),
              slotOf[prefix] == entry else { return nil }
        return .some(prefix)
    }

    private func resolvedPrefix(_ address: UInt32) -> Prefix?? {
        var entry = words[Int(address >> 8)]
        if entry & Self.chunkFlag != 0 {
            let row = Int(entry & ~Self.chunkFlag)
            guard row >= layout.firstChunkRow, row < layout.firstChunkRow + chunkHighWater else { return nil }
            entry = words[row * Layout.rowWords + Int(address & 0xff)]
            guard entry & Self.chunkFlag == 0 else { return nil }
        }
        return entryPrefix(entry)
    }

    // MARK: - Words

    private func store(_ index: Int, _ value: UInt32) {
        words[index] = value
        stores += 1
    }

    private func recordBase(_ slot: UInt32) -> Int {
        Layout.firstRecordRow * Layout.rowWords + Int(slot) * Layout.recordWords
    }

    private func record(ofSlot slot: UInt32) -> Record {
        let base = recordBase(slot)
        return Record(routeID: words[base], groupID: words[base + 1], type: UInt8(truncatingIfNeeded: words[base + 2]))
    }

    private func prefix(ofSlot slot: UInt32) -> Prefix? {
        let base = recordBase(slot)
        let length = Int(words[base + 2] >> 8 & 0xff)
        guard length <= 32 else { return nil }
        return Prefix(address: words[base + 3], length: length)
    }

    private func writeRecord(_ slot: UInt32, _ record: Record, prefix: Prefix) {
        let base = recordBase(slot)
        words[base] = record.routeID
        words[base + 1] = record.groupID
        words[base + 2] = UInt32(record.type) | UInt32(prefix.length) << 8
        words[base + 3] = prefix.address
        atomicMemoryFence(ordering: .releasing)
    }

    private func writeHeader() {
        let base = Layout.headerRow * Layout.rowWords
        let values = [Layout.magic, Layout.version, tableID, UInt32(layout.slotCapacity), UInt32(layout.chunkCapacity),
                      UInt32(slotHighWater), UInt32(chunkHighWater)]
        for (offset, value) in values.enumerated() { words[base + offset] = value }
    }

    // MARK: - Entries

    /// Writes `slot` into every covered entry held by a prefix no longer than it.
    private func paint(_ prefix: Prefix, slot: UInt32) {
        let length = prefix.length
        rewrite(prefix, to: slot) { entry in entry == 0 || self.length(ofSlot: entry) <= length }
    }

    private func length(ofSlot slot: UInt32) -> Int {
        Int(words[recordBase(slot) + 2] >> 8 & 0xff)
    }

    /// Rewrites the covered entries that hold `old` to `new`.
    private func repaint(_ prefix: Prefix, from old: UInt32, to new: UInt32) {
        rewrite(prefix, to: new) { $0 == old }
    }

    /// Stores `slot` into each entry under `prefix` that `replaces` accepts,
    /// looking through chunks; a prefix longer than /24 gets its chunk first.
    private func rewrite(_ prefix: Prefix, to slot: UInt32, where replaces: (UInt32) -> Bool) {
        let length = prefix.length
        if length <= 24 {
            let first = Int(prefix.address >> 8)
            for index in first..<first + (1 << (24 - length)) {
                let entry = words[index]
                if entry & Self.chunkFlag != 0 {
                    let base = Int(entry & ~Self.chunkFlag) * Layout.rowWords
                    for c in base..<base + 256 where replaces(words[c]) { store(c, slot) }
                } else if replaces(entry) {
                    store(index, slot)
                }
            }
        } else {
            let first = chunkBase(at: Int(prefix.address >> 8)) + Int(prefix.address & 0xff)
            for c in first..<first + (1 << (32 - length)) where replaces(words[c]) { store(c, slot) }
        }
    }

    /// The chunk under first-level entry `index`, allocated (filled with the
    /// entry's current value, then published) if there is none.
    private func chunkBase(at index: Int) -> Int {
        let entry = words[index]
        if entry & Self.chunkFlag != 0 { return Int(entry & ~Self.chunkFlag) * Layout.rowWords }
        let row = layout.firstChunkRow + Int(allocateChunk())
        let base = row * Layout.rowWords
        for c in base..<base + 256 { store(c, entry) }
        atomicMemoryFence(ordering: .releasing)
        store(index, Self.chunkFlag | UInt32(row))
        return base
    }

    /// Folds a chunk back into the first level when no prefix longer than
    /// /24 is left in it.
    private func foldChunk(at index: Int) {
        let entry = words[index]
        guard entry & Self.chunkFlag != 0 else { return }
        let row = Int(entry & ~Self.chunkFlag)
        let base = row * Layout.rowWords
        let first = words[base]
        guard first == 0 || length(ofSlot: first) <= 24, (base..<base + 256).allSatisfy({ words[$0] == first }) else { return }
        store(index, first)
        freeChunks.append(UInt32(row - layout.firstChunkRow), at: now() + Self.quarantineNanoseconds)
    }

    // MARK: - Slots and chunks

    private func canAllocateChunk() -> Bool {
        chunkHighWater < layout.chunkCapacity || freeChunks.ready(at: now())
    }

    private func allocateChunk() -> UInt32 {
        if let chunk = freeChunks.pop(at: now()) { return chunk }
        precondition(chunkHighWater < layout.chunkCapacity, "checked by set")
        chunkHighWater += 1
        writeHeader()
        return UInt32(chunkHighWater - 1)
    }

    private func allocateSlot() throws(Full) -> UInt32 {
        if let slot = freeSlots.pop(at: now()) { return slot }
        guard slotHighWater < layout.slotCapacity else { throw Full(layout: layout) }
        slotHighWater += 1
        writeHeader()
        return UInt32(slotHighWater - 1)
    }

    /// Frees a slot: its record keeps the route (a packet that read an old
    /// entry still finds it) but is marked free, and the slot waits out the
    /// quarantine before reuse.
    private func release(_ slot: UInt32) {
        let word = recordBase(slot) + 2
        words[word] = words[word] & 0xff | Layout.freeLength << 8
        freeSlots.append(slot, at: now() + Self.quarantineNanoseconds)
    }
}

/// Freed items in the order they were freed, each reusable from its time on.
private struct Quarantine {
    private var items: [(item: UInt32, from: UInt64)] = []
    private var head = 0

    var count: Int { items.count - head }

    mutating func append(_ item: UInt32, at time: UInt64) {
        items.append((item, time))
    }

    func ready(at time: UInt64) -> Bool {
        head < items.count && items[head].from <= time
    }

    mutating func pop(at time: UInt64) -> UInt32? {
        guard ready(at: time) else { return nil }
        let item = items[head].item
        head += 1
        if head >= 1024, head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return item
    }
}
