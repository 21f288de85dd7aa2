import Foundation

/// A hash table from (number, byte string) to a number, looked up with the
/// bytes of a request as they are: no String is made per lookup, and keys
/// compare byte for byte (no Unicode normalisation: a request matches what
/// a route wrote, exactly). The number in the key lets one table hold a
/// whole trie's edges (parent node, path element) -> child node.
///
/// Open addressing with linear probing, at most half full.
struct ByteTable: Sendable {
    private struct Key: Sendable {
        var hash: UInt64
        var scope: Int
        var start: Int
        var count: Int
    }

    /// Indices into `keys`, -1 for an empty slot; a power of two long.
    private var slots: [Int32] = []
    private var keys: [Key] = []
    private var values: [Int] = []
    /// Every key's bytes, one after the other.
    private var arena: [UInt8] = []

    var isEmpty: Bool { keys.isEmpty }
    /// The longest key, in bytes.
    private(set) var longestKey = 0

    /// The value of (`scope`, `bytes`), nil when absent.
    func value(scope: Int = 0, _ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !keys.isEmpty else { return nil }
        let hash = Self.hash(scope: scope, bytes)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash ^ (hash >> 32)) & mask
        return slots.withUnsafeBufferPointer { slots in
            keys.withUnsafeBufferPointer { keys in
                arena.withUnsafeBufferPointer { arena in
                    while true {
                        let index = Int(slots[slot])
                        if index < 0 { return nil }
                        let key = keys[index]
                        if key.hash == hash && key.scope == scope && key.count == bytes.count
                            && (key.count == 0 || memcmp(arena.baseAddress! + key.start, bytes.baseAddress!, key.count) == 0) {
                            return values[index]
                        }
                        slot = (slot + 1) & mask
                    }
                }
            }
        }
    }

    func value(scope: Int = 0, _ text: String) -> Int? {
        var text = text
        return text.withUTF8 { value(scope: scope, $0) }
    }

    /// Sets the value of (`scope`, `text`).
    mutating func set(scope: Int = 0, _ text: String, to value: Int) {
        var text = text
        text.withUTF8 { bytes in
            let hash = Self.hash(scope: scope, bytes)
            if let existing = slot(hash: hash, scope: scope, bytes), slots[existing] >= 0 {
                values[Int(slots[existing])] = value
                return
            }
            keys.append(Key(hash: hash, scope: scope, start: arena.count, count: bytes.count))
            values.append(value)
            arena.append(contentsOf: bytes)
            longestKey = max(longestKey, bytes.count)
            if keys.count * 2 > slots.count {
                rehash()
            } else {
                slots[slot(hash: hash, scope: scope, bytes)!] = Int32(keys.count - 1)
            }
        }
    }

    /// Every (scope, key, value), in insertion order.
    var entries: [(scope: Int, key: String, value: Int)] {
        keys.indices.map { index in
            let key = keys[index]
            return (key.scope, String(decoding: arena[key.start..<key.start + key.count], as: UTF8.self), values[index])
        }
    }

    /// The slot holding (scope, bytes), or the empty slot where it would go.
    private func slot(hash: UInt64, scope: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !slots.isEmpty else { return nil }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash ^ (hash >> 32)) & mask
        while slots[slot] >= 0 {
            let key = keys[Int(slots[slot])]
            if key.hash == hash && key.scope == scope && arena[key.start..<key.start + key.count].elementsEqual(bytes) { return slot }
            slot = (slot + 1) & mask
        }
        return slot
    }

    private mutating func rehash() {
        var capacity = 8
        while capacity < keys.count * 2 { capacity *= 2 }
        slots = Array(repeating: -1, count: capacity)
        let mask = capacity - 1
        for (index, key) in keys.enumerated() {
            var slot = Int(truncatingIfNeeded: key.hash ^ (key.hash >> 32)) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(index)
        }
    }

    /// Eight bytes at a time (the request's keys are hashed on every lookup),
    /// each word mixed with a multiply and a shift.
    private static func hash(scope: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
        var hash = (UInt64(bitPattern: Int64(scope)) ^ UInt64(bytes.count)) &* multiplier
        guard let base = bytes.baseAddress else { return hash ^ (hash >> 31) }
        let raw = UnsafeRawPointer(base)
        var offset = 0
        while offset + 8 <= bytes.count {
            hash = (hash ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* multiplier
            hash ^= hash >> 29
            offset += 8
        }
        if offset < bytes.count {
            var tail: UInt64 = 0
            for index in offset..<bytes.count { tail = tail << 8 | UInt64(bytes[index]) }
            hash = (hash ^ tail) &* multiplier
            hash ^= hash >> 29
        }
        hash = (hash ^ (hash >> 32)) &* 0xBF58_476D_1CE5_E9B9
        return hash ^ (hash >> 31)
    }
}
