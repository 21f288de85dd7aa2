/// One backend as Maglev sees it: a stable identity (hashed for its permutation) and a weight.
/// Only the key's UTF-8 bytes matter, so keys must be spelled identically on every agent.
public struct MaglevBackend: Hashable, Sendable {
    /// Stable identity, e.g. "10.0.3.7:8080"; it decides where the backend lands in the table.
    public var key: String
    /// Relative share of slots; 0 keeps the backend out of the table entirely.
    public var weight: UInt32

    public init(key: String, weight: UInt32 = 1) {
        self.key = key
        self.weight = weight
    }
}

/// Weighted Maglev lookup-table builder (Eisenbud et al., NSDI 2016, §3.4). The eBPF program
/// picks `table[flowHash % table.count]`, which gives weight-proportional shares and remaps few
/// flows when a backend comes or goes.
public enum Maglev {
    /// Prime table size used when a listener has no reason to pick another; good for < 1 %
    /// imbalance up to ~160 equal-weight backends (use 65537 or 131071 beyond that).
    public static let defaultTableSize = 16381

    /// Slot -> index into `backends`; backends of weight 0 get no slot. Empty when no backend has weight > 0.
    /// `size` must be prime (precondition) and should be > 100 × backends for a < 1 % imbalance.
    ///
    /// The result depends only on the *set* of (key, weight) pairs, not on their order, so two
    /// agents (or one agent across restarts) build identical tables. Weighted shares follow a
    /// stride schedule: a backend's k-th claim (k = 1, 2, …) is due at virtual time (k − 1) / weight, so every
    /// backend's slot count is within `[-N·w/W, +1]` of its exact share `size·w/W`, and each
    /// positive-weight backend gets at least one slot whenever `size` ≥ their number.
    /// Keys should be unique; exact duplicates get identical permutations and are told apart only
    /// by input position.
    public static func table(_ backends: [MaglevBackend], size: Int = defaultTableSize) -> [UInt32] {
        precondition(size <= Int(UInt32.max) && isPrime(size), "Maglev table size must be a prime <= UInt32.max")
        precondition(backends.count < Int(UInt32.max), "too many backends for UInt32 slot values")

        // Sorting by key bytes (not String's Unicode-aware `<`) makes the claim order, and with it
        // the table, a pure function of the backend set, stable across platforms and Swift versions.
        var order = backends.indices.filter { backends[$0].weight > 0 }
        if order.isEmpty { return [] }
        order.sort { a, b in
            switch compareBytes(backends[a].key, backends[b].key) {
            case .less: return true
            case .greater: return false
            case .equal:
                if backends[a].weight != backends[b].weight { return backends[a].weight < backends[b].weight }
                return a < b
            }
        }
        if order.count == 1 { return [UInt32](repeating: UInt32(order[0]), count: size) }

        let m = size
        var lanes = ContiguousArray<Lane>()
        lanes.reserveCapacity(order.count)
        for index in order {
            let key = backends[index].key
            let offset = Int(offsetHash(key) % UInt64(m))
            // Skip in 1...m-1 with m prime, so each backend's walk visits every slot exactly once.
            let skip = Int(skipHash(key) % UInt64(m - 1)) + 1
            lanes.append(Lane(position: offset, skip: skip, claims: 0,
                              weight: UInt64(backends[index].weight), target: UInt32(index)))
        }
        // All claim counts start at 0, so ascending lane order is already a valid min-heap.
        var heap = ContiguousArray<Int32>((0..<Int32(order.count)))

        return [UInt32](unsafeUninitializedCapacity: m) { slots, initialized in
            slots.initialize(repeating: emptySlot)
            lanes.withUnsafeMutableBufferPointer { lanes in
                heap.withUnsafeMutableBufferPointer { heap in
                    fill(slots, lanes: lanes, heap: heap)
                }
            }
            initialized = m
        }
    }

    /// Deterministic primality test for any `Int` (Miller–Rabin with a base set proven exact
    /// below 3.3·10^24), so table sizes can be validated cheaply at any scale.
    public static func isPrime(_ n: Int) -> Bool {
        if n < 2 { return false }
        let smallPrimes: [UInt64] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37]
        let u = UInt64(n)
        for p in smallPrimes {
            if u == p { return true }
            if u % p == 0 { return false }
        }
        var d = u - 1
        var s = 0
        while d & 1 == 0 { d >>= 1; s += 1 }
        witness: for a in smallPrimes {
            var x = powMod(a, d, u)
            if x == 1 || x == u - 1 { continue }
            for _ in 1..<s {
                x = mulMod(x, x, u)
                if x == u - 1 { continue witness }
            }
            return false
        }
        return true
    }

    // MARK: - Internals

    static let emptySlot = UInt32.max

    /// Per-backend walk state, kept in one flat struct so a claim touches one contiguous record.
    struct Lane {
        var position: Int   // next slot this backend will try
        var skip: Int
        var claims: UInt64  // slots claimed so far; next claim is due at virtual time claims / weight
        var weight: UInt64
        var target: UInt32  // index into the caller's array
    }

    /// Runs exactly `slots.count` claims, always granting the one due earliest (ties go to the
    /// lower sorted index, which for equal weights is exactly the paper's round-robin).
    /// Raw pointers and locals (no checked subscripts or calls per probe) make debug builds, where
    /// tests run, ~2.5x faster than buffer subscripts; release is unaffected.
    static func fill(_ slotBuffer: UnsafeMutableBufferPointer<UInt32>,
                     lanes laneBuffer: UnsafeMutableBufferPointer<Lane>,
                     heap heapBuffer: UnsafeMutableBufferPointer<Int32>) {
        let m = slotBuffer.count
        let n = heapBuffer.count
        let slots = slotBuffer.baseAddress!
        let lanes = laneBuffer.baseAddress!
        let heap = heapBuffer.baseAddress!
        for _ in 0..<m {
            let top = Int(heap[0])
            var lane = lanes[top]
            var p = lane.position
            // Terminates: the walk is a full permutation and fewer than m slots are taken.
            while slots[p] != emptySlot {
                p += lane.skip
                if p >= m { p -= m }
            }
            slots[p] = lane.target
            p += lane.skip
            if p >= m { p -= m }
            lane.position = p
            lane.claims += 1
            lanes[top] = lane

            // Sift the just-served lane down to its new place in the min-heap. Lane `a` is due
            // before `b` when claims_a / w_a < claims_b / w_b; cross-multiplying avoids division
            // and cannot overflow since both factors are < 2^32 (claims <= size, weight <= UInt32.max).
            var i = 0
            while true {
                var child = 2 * i + 1
                if child >= n { break }
                var c = Int(heap[child])
                if child + 1 < n {
                    let d = Int(heap[child + 1])
                    let l = lanes[d].claims &* lanes[c].weight, r = lanes[c].claims &* lanes[d].weight
                    if l < r || (l == r && d < c) { child += 1; c = d }
                }
                let l = lanes[c].claims &* lane.weight, r = lane.claims &* lanes[c].weight
                if !(l < r || (l == r && c < top)) { break }
                heap[i] = Int32(c)
                i = child
            }
            heap[i] = Int32(top)
        }
    }

    static func compareBytes(_ a: String, _ b: String) -> Comparison {
        var ia = a.utf8.makeIterator()
        var ib = b.utf8.makeIterator()
        while true {
            switch (ia.next(), ib.next()) {
            case (nil, nil): return .equal
            case (nil, _): return .less
            case (_, nil): return .greater
            case let (x?, y?):
                if x != y { return x < y ? .less : .greater }
            }
        }
    }

    enum Comparison { case less, equal, greater }

    // The hashes below are part of the table's identity across agents and versions: changing any
    // constant reshuffles every listener's table, so they are pinned by a golden test.

    /// FNV-1a 64 over the key's UTF-8 bytes.
    static func fnv1a64(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01b3
        }
        return h
    }

    /// SplitMix64 finalizer; spreads FNV's weakly mixed high bits before the modulo.
    @inline(__always)
    static func mix64(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Word-at-a-time SplitMix-chained hash with its own seed, so skip is independent of offset.
    static func splitMixHash(_ s: String, seed: UInt64) -> UInt64 {
        let golden: UInt64 = 0x9e37_79b9_7f4a_7c15
        // Folding in the length keeps keys that differ only by trailing NUL bytes apart.
        var h = seed ^ (UInt64(s.utf8.count) &* golden)
        var word: UInt64 = 0
        var filled: UInt64 = 0
        for b in s.utf8 {
            word |= UInt64(b) << (8 * filled)
            filled += 1
            if filled == 8 {
                h = mix64(h ^ word) &+ golden
                word = 0
                filled = 0
            }
        }
        if filled > 0 { h = mix64(h ^ word) &+ golden }
        return mix64(h)
    }

    static func offsetHash(_ key: String) -> UInt64 { mix64(fnv1a64(key)) }
    static func skipHash(_ key: String) -> UInt64 { splitMixHash(key, seed: 0x6d61_676c_6576_3031) }

    static func mulMod(_ a: UInt64, _ b: UInt64, _ m: UInt64) -> UInt64 {
        let (high, low) = a.multipliedFullWidth(by: b)
        return m.dividingFullWidth((high, low)).remainder
    }

    static func powMod(_ base: UInt64, _ exponent: UInt64, _ m: UInt64) -> UInt64 {
        var result: UInt64 = 1
        var b = base % m
        var e = exponent
        while e > 0 {
            if e & 1 == 1 { result = mulMod(result, b, m) }
            b = mulMod(b, b, m)
            e >>= 1
        }
        return result
    }
}

/// The tables of recent passes, so that a pass rebuilds only the tables
/// whose backends or size changed: a 16381-slot table costs milliseconds,
/// and every pass (a link change, a resync) plans every listener again.
/// Tables unused for a whole pass are dropped, which bounds it.
public final class MaglevCache {
    struct Key: Hashable {
        var backends: [MaglevBackend]
        var size: Int
    }

    private var current: [Key: [UInt32]] = [:]
    private var previous: [Key: [UInt32]] = [:]

    public init() {}

    /// ``Maglev/table(_:size:)``, from the cache when the same table was built this pass or the last.
    public func table(_ backends: [MaglevBackend], size: Int) -> [UInt32] {
        let key = Key(backends: backends, size: size)
        if let table = current[key] ?? previous[key] {
            current[key] = table
            return table
        }
        let table = Maglev.table(backends, size: size)
        current[key] = table
        return table
    }

    /// Starts a pass: what the last pass did not use goes.
    public func startPass() {
        previous = current
        current = [:]
    }

    /// Tables held (for tests).
    var count: Int { Set(current.keys).union(previous.keys).count }
}
