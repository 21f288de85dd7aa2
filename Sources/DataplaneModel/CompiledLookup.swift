/// DIR-24-8 for one IPv4 table: a 2^24 first level indexed by the top 24
/// bits, 256-entry chunks for prefixes longer than /24, and entries that
/// name a route slot. This is the pure model; the kernel side writes the same
/// entries into a mmap'ed array (see docs/dataplane.md, issue 15).
///
/// Entry encoding: 0 = no route; bit 31 set = chunk number; else a slot.
/// A changed route gets a new slot, so a reader sees the old or the new
/// record, never a half-written one, and never a hole.
public struct CompiledLookupV4: Sendable {
    public static let chunkFlag: UInt32 = 1 << 31

    public struct Prefix: Hashable, Sendable {
        public var address: UInt32
        public var length: Int
        public init(address: UInt32, length: Int) {
            precondition((0...32).contains(length))
            self.address = length == 0 ? 0 : address & ~UInt32(0) << (32 - length)
            self.length = length
        }
    }

    public private(set) var tbl24 = [UInt32](repeating: 0, count: 1 << 24)
    public private(set) var chunks: [UInt32] = []
    /// Route id of each live slot (index 0 unused).
    public private(set) var records: [UInt32] = [0]
    /// Entry stores done so far (each one a single 32-bit store in the kernel).
    public private(set) var stores = 0

    private var slotOf: [Prefix: UInt32] = [:]
    private var lengthOf: [Int] = [0]
    private var freeSlots: [UInt32] = []
    private var freeChunks: [UInt32] = []

    public init() {}

    public var routeCount: Int { slotOf.count }
    public var chunkCount: Int { chunks.count / 256 - freeChunks.count }

    /// The route id for `address`, or nil.
    public func lookup(_ address: UInt32) -> UInt32? {
        var entry = tbl24[Int(address >> 8)]
        if entry & Self.chunkFlag != 0 {
            entry = chunks[Int(entry & ~Self.chunkFlag) << 8 | Int(address & 0xff)]
        }
        return entry == 0 ? nil : records[Int(entry)]
    }

    /// Adds or replaces the route of `prefix`.
    public mutating func set(_ prefix: Prefix, routeID: UInt32) {
        let slot = allocateSlot(routeID: routeID, length: prefix.length)
        if let old = slotOf[prefix] {
            repaint(prefix, from: old, to: slot)
            release(old)
        } else {
            paint(prefix, slot: slot)
        }
        slotOf[prefix] = slot
    }

    /// Removes the route of `prefix`; its addresses fall back to the longest
    /// shorter prefix that covers them.
    public mutating func remove(_ prefix: Prefix) {
        guard let slot = slotOf.removeValue(forKey: prefix) else { return }
        var parent: UInt32 = 0
        for length in stride(from: prefix.length - 1, through: 0, by: -1) {
            if let s = slotOf[Prefix(address: prefix.address, length: length)] { parent = s; break }
        }
        repaint(prefix, from: slot, to: parent)
        if prefix.length > 24 { foldChunk(at: Int(prefix.address >> 8)) }
        release(slot)
    }

    // MARK: - Entries

    private mutating func store24(_ index: Int, _ value: UInt32) {
        tbl24[index] = value
        stores += 1
    }

    private mutating func storeChunk(_ index: Int, _ value: UInt32) {
        chunks[index] = value
        stores += 1
    }

    /// Writes `slot` into every covered entry held by a prefix no longer than it.
    private mutating func paint(_ prefix: Prefix, slot: UInt32) {
        let lengths = lengthOf, length = prefix.length
        rewrite(prefix, to: slot) { entry in entry == 0 || lengths[Int(entry)] <= length }
    }

    /// Rewrites the covered entries that hold `old` to `new`.
    private mutating func repaint(_ prefix: Prefix, from old: UInt32, to new: UInt32) {
        rewrite(prefix, to: new) { $0 == old }
    }

    /// Stores `slot` into each entry under `prefix` that `replaces` accepts,
    /// looking through chunks; a prefix longer than /24 gets its chunk first.
    private mutating func rewrite(_ prefix: Prefix, to slot: UInt32, where replaces: (UInt32) -> Bool) {
        let length = prefix.length
        if length <= 24 {
            let first = Int(prefix.address >> 8)
            for index in first..<first + (1 << (24 - length)) {
                let entry = tbl24[index]
                if entry & Self.chunkFlag != 0 {
                    let base = Int(entry & ~Self.chunkFlag) << 8
                    for c in base..<base + 256 where replaces(chunks[c]) { storeChunk(c, slot) }
                } else if replaces(entry) {
                    store24(index, slot)
                }
            }
        } else {
            let first = chunkBase(at: Int(prefix.address >> 8)) + Int(prefix.address & 0xff)
            for c in first..<first + (1 << (32 - length)) where replaces(chunks[c]) { storeChunk(c, slot) }
        }
    }

    /// The chunk under tbl24 entry `index`, allocated (filled with the entry's
    /// current value, then published) if there is none.
    private mutating func chunkBase(at index: Int) -> Int {
        let entry = tbl24[index]
        if entry & Self.chunkFlag != 0 { return Int(entry & ~Self.chunkFlag) << 8 }
        let chunk: UInt32
        if let reused = freeChunks.popLast() {
            chunk = reused
        } else {
            chunk = UInt32(chunks.count >> 8)
            chunks.append(contentsOf: repeatElement(0, count: 256))
        }
        let base = Int(chunk) << 8
        for c in base..<base + 256 { storeChunk(c, entry) }
        store24(index, Self.chunkFlag | chunk)
        return base
    }

    /// Folds a chunk back into tbl24 when no prefix longer than /24 is left in it.
    private mutating func foldChunk(at index: Int) {
        let entry = tbl24[index]
        guard entry & Self.chunkFlag != 0 else { return }
        let chunk = entry & ~Self.chunkFlag
        let base = Int(chunk) << 8
        let first = chunks[base]
        guard first == 0 || lengthOf[Int(first)] <= 24, chunks[base..<base + 256].allSatisfy({ $0 == first }) else { return }
        store24(index, first)
        freeChunks.append(chunk)
    }

    // MARK: - Slots

    private mutating func allocateSlot(routeID: UInt32, length: Int) -> UInt32 {
        if let slot = freeSlots.popLast() {
            records[Int(slot)] = routeID
            lengthOf[Int(slot)] = length
            return slot
        }
        records.append(routeID)
        lengthOf.append(length)
        return UInt32(records.count - 1)
    }

    /// Frees a slot. The kernel side quarantines it before reuse, so a packet
    /// that read the old entry still finds the old record.
    private mutating func release(_ slot: UInt32) {
        freeSlots.insert(slot, at: 0)
    }
}
