import CLibbpf
import CRouteletABI
import DataplaneModel
import NetAddress
#if canImport(Glibc)
import Glibc
#endif

/// The gateway stage's maps (bpf/lib/gateway.h), typed, with operations in
/// the gateway's own terms: listeners, backends, Maglev tables, conntrack.
///
/// Maglev tables are inner maps of `rl_maglev`, one per listener, each also
/// pinned as `rl_maglev_<listener id>` beside the other pins: the outer map
/// only yields an inner map's id, and opening a map by id needs
/// CAP_SYS_ADMIN, which the agent does not have; the pin lets it (and
/// `bpftool`) read a table back.
public struct GatewayMaps: Sendable {
    /// The pinned names of the fixed maps, but for the capture ring.
    public static let names = [
        "rl_listeners", "rl_backends", "rl_maglev", "rl_conntrack", "rl_listener_stats", "rl_backend_stats",
        "rl_sources_v4", "rl_sources_v6", "rl_rate_buckets", "rl_listener_refusals",
        "rl_capture_names", "rl_capture_stats", "rl_capture_scratch",
    ]
    /// The ring of header-capture records, which only the program with
    /// header capture has (``Dataplane/capturesHeaders``).
    public static let captureRingName = "rl_capture_ring"
    /// The pins of Maglev tables start with this, followed by the listener id.
    public static let maglevPinPrefix = "rl_maglev_"

    let listeners: BPFMap<rl_listener_key, rl_listener>
    let backends: BPFMap<UInt32, rl_backend>
    let maglev: BPFMap<UInt32, UInt32>
    let conntrack: BPFMap<rl_ct_key, rl_ct_entry>
    let listenerStats: PerCPUMap<UInt32, rl_gw_counter>
    let backendStats: PerCPUMap<UInt32, rl_gw_counter>
    let sourcesV4: BPFMap<rl_src_key_v4, UInt32>
    let sourcesV6: BPFMap<rl_src_key_v6, UInt32>
    let rateBuckets: BPFMap<rl_rate_key, rl_rate_bucket>
    let refusals: PerCPUMap<UInt32, rl_refusals>
    let captureNames: BPFMap<UInt32, rl_capture_names>
    let captureStats: PerCPUMap<UInt32, rl_capture_counter>
    /// The ring of header-capture records (``CaptureRing`` reads it); nil
    /// when the program was built without header capture.
    let captureRing: FileDescriptor?
    let pinDirectory: String
    let writes: WriteCounter

    init(descriptors: [String: FileDescriptor], pinDirectory: String, writes: WriteCounter) throws(BPFError) {
        func fd(_ name: String) -> FileDescriptor { descriptors[name]! }
        self.writes = writes
        self.pinDirectory = pinDirectory
        listeners = BPFMap(name: "rl_listeners", fd: fd("rl_listeners"), writes: writes)
        backends = BPFMap(name: "rl_backends", fd: fd("rl_backends"), writes: writes)
        maglev = BPFMap(name: "rl_maglev", fd: fd("rl_maglev"), writes: writes)
        conntrack = BPFMap(name: "rl_conntrack", fd: fd("rl_conntrack"), writes: writes)
        listenerStats = try PerCPUMap(name: "rl_listener_stats", fd: fd("rl_listener_stats"), writes: writes)
        backendStats = try PerCPUMap(name: "rl_backend_stats", fd: fd("rl_backend_stats"), writes: writes)
        sourcesV4 = BPFMap(name: "rl_sources_v4", fd: fd("rl_sources_v4"), writes: writes)
        sourcesV6 = BPFMap(name: "rl_sources_v6", fd: fd("rl_sources_v6"), writes: writes)
        rateBuckets = BPFMap(name: "rl_rate_buckets", fd: fd("rl_rate_buckets"), writes: writes)
        refusals = try PerCPUMap(name: "rl_listener_refusals", fd: fd("rl_listener_refusals"), writes: writes)
        captureNames = BPFMap(name: "rl_capture_names", fd: fd("rl_capture_names"), writes: writes)
        captureStats = try PerCPUMap(name: "rl_capture_stats", fd: fd("rl_capture_stats"), writes: writes)
        captureRing = descriptors[Self.captureRingName]
    }

    /// Reopens the maps pinned in `directory` by the agent (for `routelet
    /// dump` and the metrics), sharing `router`'s write counter.
    public static func openPinned(directory: String, router: RouterMaps) throws(BPFError) -> GatewayMaps {
        var descriptors = try RouterMaps.openPins(names, directory: directory)
        let ring = bpf_obj_get("\(directory)/\(captureRingName)")
        if ring >= 0 { descriptors[captureRingName] = FileDescriptor(owning: ring) }
        return try GatewayMaps(descriptors: descriptors, pinDirectory: directory, writes: router.writes)
    }

    // MARK: Listeners

    public func setListener(_ key: ListenerKey, _ entry: ListenerEntry) throws(BPFError) {
        try listeners.update(rl_listener_key(key), rl_listener(entry))
    }

    @discardableResult
    public func removeListener(_ key: ListenerKey) throws(BPFError) -> Bool {
        try listeners.delete(rl_listener_key(key))
    }

    public func allListeners() throws(BPFError) -> [ListenerKey: ListenerEntry] {
        var result: [ListenerKey: ListenerEntry] = [:]
        for (key, value) in try listeners.entries() {
            if let key = key.listenerKey { result[key] = value.entry }
        }
        return result
    }

    // MARK: sourceRanges and rateLimit

    public func addSourceRange(_ range: SourceRange) throws(BPFError) {
        switch range.prefix.family {
        case .v4: try sourcesV4.update(rl_src_key_v4(range), 1)
        case .v6: try sourcesV6.update(rl_src_key_v6(range), 1)
        }
    }

    @discardableResult
    public func removeSourceRange(_ range: SourceRange) throws(BPFError) -> Bool {
        switch range.prefix.family {
        case .v4: try sourcesV4.delete(rl_src_key_v4(range))
        case .v6: try sourcesV6.delete(rl_src_key_v6(range))
        }
    }

    public func allSourceRanges() throws(BPFError) -> Set<SourceRange> {
        Set(try sourcesV4.keys().compactMap(\.sourceRange) + sourcesV6.keys().compactMap(\.sourceRange))
    }

    public func refusals(_ listenerID: UInt32) throws(BPFError) -> Refusals {
        try refusals.lookup(listenerID).map {
            $0.reduce(.zero) { Refusals(sourcePackets: $0.sourcePackets &+ $1.source_packets, rateFlows: $0.rateFlows &+ $1.rate_flows) }
        } ?? .zero
    }

    /// The clients that have a rateLimit bucket now (one walk of the keys).
    public func rateBucketCount() throws(BPFError) -> Int {
        try rateBuckets.keys().count
    }

    /// sourceRanges entries each family's trie holds, all listeners together.
    public static let sourceRangeCapacity = Int(RL_MAX_SOURCE_RANGES)

    /// The size of the rateLimit table: buckets past it are evicted, least recently used first.
    public static let rateBucketCapacity = Int(RL_MAX_RATE_BUCKETS)

    // MARK: Header capture

    /// Writes a listener's header names; written before the listener entry
    /// that turns capture on, removed after the one that turns it off.
    public func setCaptureNames(listenerID: UInt32, _ names: CaptureNames) throws(BPFError) {
        try captureNames.update(listenerID, rl_capture_names(names))
    }

    @discardableResult
    public func removeCaptureNames(listenerID: UInt32) throws(BPFError) -> Bool {
        try captureNames.delete(listenerID)
    }

    public func allCaptureNames() throws(BPFError) -> [UInt32: CaptureNames] {
        var result: [UInt32: CaptureNames] = [:]
        for (id, value) in try captureNames.entries() { result[id] = value.names }
        return result
    }

    /// One listener's names, with the digest its records carry.
    public func captureNames(listenerID: UInt32) throws(BPFError) -> (names: CaptureNames, digest: UInt32)? {
        try captureNames.lookup(listenerID).map { ($0.names, $0.digest) }
    }

    public func captureCounter(_ listenerID: UInt32) throws(BPFError) -> CaptureCounter {
        try captureStats.lookup(listenerID).map {
            $0.reduce(.zero) { CaptureCounter(records: $0.records &+ $1.records, lost: $0.lost &+ $1.lost, unparsed: $0.unparsed &+ $1.unparsed) }
        } ?? .zero
    }

    /// Whether the pins hold the capture ring: the program loaded over them
    /// captures header elements.
    public var hasCaptureRing: Bool { captureRing != nil }

    /// Opens the ring of capture records for reading.
    public func openCaptureRing() throws(BPFError) -> CaptureRing {
        guard let captureRing else {
            throw BPFError(
                operation: "open", object: "\(pinDirectory)/\(Self.captureRingName)", errno: ENOENT,
                hint: "the data plane runs \(Dataplane.withoutCaptureReason)")
        }
        return try CaptureRing(fd: captureRing.rawValue)
    }

    // MARK: Backends

    /// Writes a backend; a new id's counters start from zero.
    public func setBackend(_ id: UInt32, _ entry: BackendEntry, isNew: Bool) throws(BPFError) {
        if isNew { try backendStats.update(id, everyCPU: rl_gw_counter()) }
        try backends.update(id, rl_backend(entry))
    }

    @discardableResult
    public func removeBackend(_ id: UInt32) throws(BPFError) -> Bool {
        try backends.delete(id)
    }

    public func allBackends() throws(BPFError) -> [UInt32: BackendEntry] {
        var result: [UInt32: BackendEntry] = [:]
        for (id, value) in try backends.entries() {
            if let entry = value.entry { result[id] = entry }
        }
        return result
    }

    // MARK: Maglev tables

    func maglevPin(_ listenerID: UInt32) -> String { "\(pinDirectory)/\(Self.maglevPinPrefix)\(listenerID)" }

    /// Builds a new table for `listenerID` and swaps it in whole: a packet
    /// sees the old table or the new one, never a mix. The old table is
    /// freed by the kernel when the last reference to it goes.
    public func setMaglev(listenerID: UInt32, slots: [UInt32]) throws(BPFError) {
        precondition(!slots.isEmpty && slots.count <= Int(RL_MAX_MAGLEV_SIZE), "a Maglev table has 1...\(RL_MAX_MAGLEV_SIZE) slots")
        let what = "Maglev table of listener \(listenerID)"
        var opts = bpf_map_create_opts()
        opts.sz = libbpfOptionsSize(\bpf_map_create_opts.map_ifindex)
        opts.map_flags = UInt32(BPF_F_INNER_MAP | BPF_F_MMAPABLE)
        let created = bpf_map_create(BPF_MAP_TYPE_ARRAY, "rl_maglev_tbl", 4, 4, UInt32(slots.count), &opts)
        try bpfCall("bpf_map_create", what) { created }
        let inner = FileDescriptor(owning: created)
        try withMapping(inner.rawValue, slots: slots.count, writable: true, what: what) { memory in
            for (index, backend) in slots.enumerated() {
                memory.storeBytes(of: backend, toByteOffset: index * Self.slotStride, as: UInt32.self)
            }
        }
        var key = listenerID
        var value = UInt32(bitPattern: inner.rawValue)
        try bpfCall("bpf_map_update_elem", "map rl_maglev") { bpf_map_update_elem(maglev.fd.rawValue, &key, &value, UInt64(BPF_ANY)) }
        writes.add()
        let pin = maglevPin(listenerID)
        unlink(pin)
        try bpfCall("bpf_obj_pin", pin) { bpf_obj_pin(inner.rawValue, pin) }
    }

    /// Removes a listener's table (and its pin).
    @discardableResult
    public func removeMaglev(listenerID: UInt32) throws(BPFError) -> Bool {
        unlink(maglevPin(listenerID))
        return try maglev.delete(listenerID)
    }

    /// listener id -> its table, read back through the pins.
    public func allMaglev() throws(BPFError) -> [UInt32: MaglevState] {
        var result: [UInt32: MaglevState] = [:]
        for (listenerID, innerID) in try maglev.entries() {
            result[listenerID] = MaglevState(mapID: innerID, slots: try pinnedTable(listenerID: listenerID, expectedID: innerID))
        }
        return result
    }

    /// The slots of the table pinned for `listenerID`, when that pin is the
    /// map the outer entry points to.
    func pinnedTable(listenerID: UInt32, expectedID: UInt32) throws(BPFError) -> [UInt32]? {
        let pin = maglevPin(listenerID)
        let raw = bpf_obj_get(pin)
        guard raw >= 0 else { return nil }
        let fd = FileDescriptor(owning: raw)
        var info = bpf_map_info()
        var length = UInt32(MemoryLayout<bpf_map_info>.size)
        try bpfCall("bpf_obj_get_info_by_fd", pin) { bpf_obj_get_info_by_fd(fd.rawValue, &info, &length) }
        guard info.id == expectedID, info.value_size == 4, info.max_entries > 0 else { return nil }
        var slots = [UInt32](repeating: 0, count: Int(info.max_entries))
        try withMapping(fd.rawValue, slots: slots.count, writable: false, what: pin) { memory in
            for index in slots.indices {
                slots[index] = memory.load(fromByteOffset: index * Self.slotStride, as: UInt32.self)
            }
        }
        return slots
    }

    /// An array map keeps each value in a slot rounded up to 8 bytes, and
    /// mmap shows exactly that layout.
    static let slotStride = 8

    /// Maps an mmapable array's values into memory for `body`.
    private func withMapping(_ fd: Int32, slots: Int, writable: Bool, what: String,
                             _ body: (UnsafeMutableRawPointer) -> Void) throws(BPFError) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let length = (slots * Self.slotStride + page - 1) / page * page
        let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
        guard let memory = mmap(nil, length, protection, MAP_SHARED, fd, 0), memory != MAP_FAILED else {
            throw BPFError(operation: "mmap", object: what, errno: errno)
        }
        defer { munmap(memory, length) }
        body(memory)
    }

    // MARK: Conntrack

    /// Every conntrack entry (two per NATed flow).
    public func conntrackEntries() throws(BPFError) -> [ConntrackEntry] {
        try conntrack.entries().compactMap { ConntrackEntry(key: $0.key, value: $0.value) }
    }

    /// The backends that live client flows still name (one walk of conntrack).
    public func activeBackendIDs() throws(BPFError) -> Set<UInt32> {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nanoseconds = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        return Set(try conntrackEntries().filter { !$0.isReply && $0.isLive(now: nanoseconds) }.map(\.backendID))
    }

    /// The number of conntrack entries (one walk of the keys).
    public func conntrackCount() throws(BPFError) -> Int {
        try conntrack.keys().count
    }

    // MARK: Counters

    public func listenerCounter(_ id: UInt32) throws(BPFError) -> FlowCounter {
        try listenerStats.lookup(id).map(Self.sum) ?? .zero
    }

    public func backendCounter(_ id: UInt32) throws(BPFError) -> FlowCounter {
        try backendStats.lookup(id).map(Self.sum) ?? .zero
    }

    /// Zeroes a listener's counters (when its id is given to a new listener).
    public func resetListenerCounter(_ id: UInt32) throws(BPFError) {
        try listenerStats.update(id, everyCPU: rl_gw_counter())
        try refusals.update(id, everyCPU: rl_refusals())
        try captureStats.update(id, everyCPU: rl_capture_counter())
    }

    static func sum(_ values: [rl_gw_counter]) -> FlowCounter {
        values.reduce(.zero) { $0 + FlowCounter(packets: $1.packets, bytes: $1.bytes, flows: $1.flows) }
    }

    /// The gateway part of the actual state. A reconcile pass needs the
    /// tables but not the counters (a per-CPU read per listener and per
    /// backend), the metrics the counters but not the tables.
    public func state(tables: Bool = true, counters: Bool = false) throws(BPFError) -> GatewayState {
        var state = GatewayState()
        state.listeners = try allListeners()
        state.backends = try allBackends()
        if tables {
            state.maglev = try allMaglev()
            state.sourceRanges = try allSourceRanges()
            state.captureNames = try allCaptureNames()
        }
        guard counters else { return state }
        for entry in state.listeners.values {
            state.listenerCounters[entry.id] = try listenerCounter(entry.id)
            state.refusals[entry.id] = try refusals(entry.id)
            if entry.capture { state.captureCounters[entry.id] = try captureCounter(entry.id) }
        }
        for id in state.backends.keys { state.backendCounters[id] = try backendCounter(id) }
        return state
    }
}

// MARK: - Conversions between the Swift entries and the ABI structs

/// An ABI address (family + 16 bytes) as an IPAddress.
private func abiAddress(family: UInt8, _ bytes: [UInt8]) -> IPAddress? {
    switch Int32(family) {
    case RL_AF_INET: IPAddress(bytes: bytes.prefix(4))
    case RL_AF_INET6: IPAddress(bytes: bytes)
    default: nil
    }
}

private func abiFamily(_ address: IPAddress) -> UInt8 {
    UInt8(address.family == .v4 ? RL_AF_INET : RL_AF_INET6)
}

extension rl_listener_key {
    init(_ key: ListenerKey) {
        self.init()
        family = abiFamily(key.address)
        proto = key.proto.rawValue
        port = key.port
        withUnsafeMutableBytes(of: &addr) { $0.copyBytes(from: key.address.bytes) }
    }

    var listenerKey: ListenerKey? {
        guard let proto = L4Protocol(rawValue: proto),
              let address = abiAddress(family: family, withUnsafeBytes(of: addr) { Array($0) }) else { return nil }
        return ListenerKey(address: address, port: port, proto: proto)
    }
}

extension rl_listener {
    init(_ entry: ListenerEntry) {
        self.init()
        id = entry.id
        flags = (entry.snat ? UInt32(RL_LISTENER_SNAT) : 0) | (entry.local ? UInt32(RL_LISTENER_LOCAL) : 0)
            | (entry.allowList ? UInt32(RL_LISTENER_ALLOW_LIST) : 0) | (entry.denyList ? UInt32(RL_LISTENER_DENY_LIST) : 0)
            | (entry.capture ? UInt32(RL_LISTENER_CAPTURE) : 0)
        maglev_size = entry.maglevSize
        idle_timeout_s = entry.idleTimeoutSeconds
        rate_per_s = entry.rateLimit?.perSecond ?? 0
        rate_burst = entry.rateLimit?.burst ?? 0
    }

    var entry: ListenerEntry {
        ListenerEntry(id: id, snat: flags & UInt32(RL_LISTENER_SNAT) != 0, maglevSize: maglev_size, idleTimeoutSeconds: idle_timeout_s,
                      local: flags & UInt32(RL_LISTENER_LOCAL) != 0, allowList: flags & UInt32(RL_LISTENER_ALLOW_LIST) != 0,
                      denyList: flags & UInt32(RL_LISTENER_DENY_LIST) != 0,
                      rateLimit: rate_per_s == 0 ? nil : FlowRateLimit(perSecond: rate_per_s, burst: rate_burst),
                      capture: flags & UInt32(RL_LISTENER_CAPTURE) != 0)
    }
}

extension rl_capture_names {
    /// The names as the program matches them (hash and length of each
    /// lowercase name), spelled as given for readers. Names longer than
    /// RL_CAPTURE_NAME_LEN or past RL_CAPTURE_HEADERS are the compiler's to
    /// refuse; here they are cut.
    init(_ names: CaptureNames) {
        self.init()
        let listed = Array(names.names.prefix(Int(RL_CAPTURE_HEADERS)))
        count = UInt32(listed.count)
        digest = names.digest
        withUnsafeMutableBytes(of: &hash) { hashes in
            withUnsafeMutableBytes(of: &len) { lengths in
                withUnsafeMutableBytes(of: &name) { bytes in
                    for (index, header) in listed.enumerated() {
                        let utf8 = Array(header.utf8.prefix(Int(RL_CAPTURE_NAME_LEN)))
                        hashes.storeBytes(of: CaptureNames.hash(header), toByteOffset: index * 8, as: UInt64.self)
                        lengths[index] = UInt8(utf8.count)
                        let start = index * Int(RL_CAPTURE_NAME_LEN)
                        bytes[start..<start + utf8.count].copyBytes(from: utf8)
                    }
                }
            }
        }
    }

    var names: CaptureNames {
        let count = min(Int(self.count), Int(RL_CAPTURE_HEADERS))
        let lengths = withUnsafeBytes(of: len) { Array($0) }
        return withUnsafeBytes(of: name) { bytes in
            CaptureNames((0..<count).map { index in
                let start = index * Int(RL_CAPTURE_NAME_LEN)
                return String(decoding: bytes[start..<start + min(Int(lengths[index]), Int(RL_CAPTURE_NAME_LEN))], as: UTF8.self)
            })
        }
    }
}

/// The two sourceRanges keys: the same layout around addresses of different sizes.
protocol SourceKey {
    init()
    associatedtype Address
    var prefixlen: UInt32 { get set }
    var listener_id: UInt32 { get set }
    var list: UInt32 { get set }
    var addr: Address { get set }
}

extension SourceKey {
    init(_ range: SourceRange) {
        self.init()
        prefixlen = 64 + UInt32(range.prefix.length)
        listener_id = range.listenerID
        list = range.list.rawValue
        withUnsafeMutableBytes(of: &addr) { $0.copyBytes(from: range.prefix.address.bytes) }
    }

    /// Nil for an entry routelet can't have written.
    var sourceRange: SourceRange? {
        let bytes = withUnsafeBytes(of: addr) { Array($0) }
        guard prefixlen >= 64, let list = SourceList(rawValue: list), let address = IPAddress(bytes: bytes),
              let prefix = IPPrefix(address: address, length: Int(prefixlen) - 64) else { return nil }
        return SourceRange(listenerID: listener_id, list: list, prefix: prefix)
    }
}

extension rl_src_key_v4: SourceKey {}
extension rl_src_key_v6: SourceKey {}

extension rl_backend {
    init(_ entry: BackendEntry) {
        self.init()
        family = abiFamily(entry.address)
        port = entry.port
        withUnsafeMutableBytes(of: &addr) { $0.copyBytes(from: entry.address.bytes) }
        if let snat = entry.snatAddress {
            withUnsafeMutableBytes(of: &snat_addr) { $0.copyBytes(from: snat.bytes) }
        }
    }

    var entry: BackendEntry? {
        guard let target = abiAddress(family: family, withUnsafeBytes(of: addr) { Array($0) }) else { return nil }
        let snatBytes = withUnsafeBytes(of: snat_addr) { Array($0) }
        let snat = snatBytes.allSatisfy { $0 == 0 } ? nil : abiAddress(family: family, snatBytes)
        return BackendEntry(address: target, port: port, snatAddress: snat)
    }
}

extension ConntrackEntry {
    init?(key: rl_ct_key, value: rl_ct_entry) {
        let bytes = { (tuple: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)) in
            withUnsafeBytes(of: tuple) { Array($0) }
        }
        guard let proto = L4Protocol(rawValue: key.proto),
              let source = abiAddress(family: key.family, bytes(key.saddr)),
              let destination = abiAddress(family: key.family, bytes(key.daddr)),
              let newSource = abiAddress(family: key.family, bytes(value.saddr)),
              let newDestination = abiAddress(family: key.family, bytes(value.daddr)) else { return nil }
        self.init(
            proto: proto,
            arriving: Tuple(source: source, sourcePort: key.sport, destination: destination, destinationPort: key.dport),
            leaving: Tuple(source: newSource, sourcePort: value.sport, destination: newDestination, destinationPort: value.dport),
            listenerID: value.listener_id, backendID: value.backend_id,
            isReply: value.flags & UInt8(RL_CT_REPLY) != 0, isClosing: value.flags & UInt8(RL_CT_CLOSING) != 0,
            lastSeenNanoseconds: value.last_seen_ns, idleTimeoutSeconds: value.timeout_s)
    }
}
