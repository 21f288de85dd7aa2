import CLibbpf
import CRouteletABI
import DataplaneModel
import NetAddress
#if canImport(Glibc)
import Glibc
#endif

/// The router program's maps, typed, with operations in the data plane's own
/// terms (routes, groups, bindings). One value shares the descriptors of one
/// opening, from a freshly loaded object or from the pins of an earlier one.
public struct RouterMaps: Sendable {
    /// The pinned names, in the order the router program declares them.
    public static let names = [
        "rl_ifaces", "rl_routes_v4", "rl_routes_v6", "rl_lookup_v4", "rl_groups", "rl_local_addrs",
        "rl_route_stats", "rl_reason_stats", "rl_meta", "rl_config",
    ]

    let ifaces: BPFMap<UInt32, rl_iface>
    let routesV4: BPFMap<rl_lpm_key_v4, rl_route>
    let routesV6: BPFMap<rl_lpm_key_v6, rl_route>
    /// table id -> id of its compiled lookup's array (``CompiledLookupMap``).
    let lookupsV4: BPFMap<UInt32, UInt32>
    let groups: BPFMap<UInt32, rl_group>
    let localAddrs: BPFMap<rl_addr_key, UInt32>
    let routeStats: PerCPUMap<UInt32, rl_counter>
    let reasonStats: PerCPUMap<UInt32, rl_counter>
    let meta: BPFMap<UInt32, rl_meta>
    let config: BPFMap<UInt32, rl_config>

    /// Every update and delete made through these maps.
    public let writes: WriteCounter

    /// `descriptors` must hold one descriptor for each of ``names``.
    init(descriptors: [String: FileDescriptor]) throws(BPFError) {
        let writes = WriteCounter()
        func fd(_ name: String) -> FileDescriptor { descriptors[name]! }
        self.writes = writes
        ifaces = BPFMap(name: "rl_ifaces", fd: fd("rl_ifaces"), writes: writes)
        routesV4 = BPFMap(name: "rl_routes_v4", fd: fd("rl_routes_v4"), writes: writes)
        routesV6 = BPFMap(name: "rl_routes_v6", fd: fd("rl_routes_v6"), writes: writes)
        lookupsV4 = BPFMap(name: "rl_lookup_v4", fd: fd("rl_lookup_v4"), writes: writes)
        groups = BPFMap(name: "rl_groups", fd: fd("rl_groups"), writes: writes)
        localAddrs = BPFMap(name: "rl_local_addrs", fd: fd("rl_local_addrs"), writes: writes)
        routeStats = try PerCPUMap(name: "rl_route_stats", fd: fd("rl_route_stats"), writes: writes)
        reasonStats = try PerCPUMap(name: "rl_reason_stats", fd: fd("rl_reason_stats"), writes: writes)
        meta = BPFMap(name: "rl_meta", fd: fd("rl_meta"), writes: writes)
        config = BPFMap(name: "rl_config", fd: fd("rl_config"), writes: writes)
    }

    /// Reopens the maps pinned in `directory` by an earlier process, without
    /// loading any program: what `routelet dump` uses.
    public static func openPinned(directory: String) throws(BPFError) -> RouterMaps {
        let maps = try RouterMaps(descriptors: try openPins(names, directory: directory))
        try maps.checkABIVersion(directory: directory)
        return maps
    }

    /// Opens the pins `names` under `directory`, by name.
    static func openPins(_ names: [String], directory: String) throws(BPFError) -> [String: FileDescriptor] {
        var descriptors: [String: FileDescriptor] = [:]
        for name in names {
            let path = "\(directory)/\(name)"
            let fd = bpf_obj_get(path)
            guard fd >= 0 else {
                let error = errno
                throw BPFError(
                    operation: "bpf_obj_get", object: path, errno: error,
                    hint: error == ENOENT ? "no routelet maps are pinned there (has the agent run with this --bpffs-dir?)" : nil)
            }
            descriptors[name] = FileDescriptor(owning: fd)
        }
        return descriptors
    }

    // MARK: ABI version

    /// The ABI version recorded in the pinned maps; 0 when none was recorded yet.
    public func abiVersion() throws(BPFError) -> UInt32 {
        try meta.lookup(0)?.abi_version ?? 0
    }

    func checkABIVersion(directory: String) throws(BPFError) {
        let found = try abiVersion()
        guard found == 0 || found == UInt32(RL_ABI_VERSION) else {
            throw BPFError(
                operation: "open pinned maps", object: directory, errno: 0,
                hint: "they were written with ABI version \(found) and this routelet uses \(RL_ABI_VERSION); run `routelet cleanup --bpffs-dir \(directory)` to remove them")
        }
    }

    func recordABIVersion() throws(BPFError) {
        guard try abiVersion() != UInt32(RL_ABI_VERSION) else { return }
        var value = rl_meta()
        value.abi_version = UInt32(RL_ABI_VERSION)
        try meta.update(0, value)
    }

    // MARK: Settings

    /// The mark the program sets on packets it hands to the local gateway,
    /// with the ABI's defaults for fields left 0 (as the program reads them).
    public func gatewayMark() throws(BPFError) -> GatewayMark {
        let value = try config.lookup(0) ?? rl_config()
        return GatewayMark(mark: value.gateway_mark != 0 ? value.gateway_mark : UInt32(RL_GATEWAY_MARK),
                           mask: value.gateway_mark_mask != 0 ? value.gateway_mark_mask : UInt32(RL_GATEWAY_MARK_MASK))
    }

    /// Sets the mark the program sets on packets it hands to the local gateway.
    public func setGatewayMark(_ mark: GatewayMark) throws(BPFError) {
        guard mark.mask != 0, mark.mark & ~mark.mask == 0 else {
            throw BPFError(operation: "setGatewayMark", object: "map rl_config", errno: EINVAL,
                           hint: "the mark \(mark) must be nonzero and within its mask")
        }
        var value = try config.lookup(0) ?? rl_config()
        value.gateway_mark = mark.mark
        value.gateway_mark_mask = mark.mask
        try config.update(0, value)
    }

    // MARK: Routes

    /// Writes a route; an existing entry for the key is replaced in place.
    public func setRoute(_ key: RouteKey, _ entry: RouteEntry) throws(BPFError) {
        switch key.prefix.family {
        case .v4: try routesV4.update(rl_lpm_key_v4(key), rl_route(entry))
        case .v6: try routesV6.update(rl_lpm_key_v6(key), rl_route(entry))
        }
    }

    @discardableResult
    public func removeRoute(_ key: RouteKey) throws(BPFError) -> Bool {
        switch key.prefix.family {
        case .v4: try routesV4.delete(rl_lpm_key_v4(key))
        case .v6: try routesV6.delete(rl_lpm_key_v6(key))
        }
    }

    public func route(_ key: RouteKey) throws(BPFError) -> RouteEntry? {
        switch key.prefix.family {
        case .v4: try routesV4.lookup(rl_lpm_key_v4(key))?.entry
        case .v6: try routesV6.lookup(rl_lpm_key_v6(key))?.entry
        }
    }

    /// Every route of both families. Entries the ABI can't express (written
    /// by someone else) are returned as `unreadable` so a reconciler can
    /// remove them.
    public func routes() throws(BPFError) -> (routes: [RouteKey: RouteEntry], unreadable: Int) {
        var routes: [RouteKey: RouteEntry] = [:]
        var unreadable = 0
        for (key, value) in try routesV4.entries() {
            if let key = key.routeKey, let entry = value.entry { routes[key] = entry } else { unreadable += 1 }
        }
        for (key, value) in try routesV6.entries() {
            if let key = key.routeKey, let entry = value.entry { routes[key] = entry } else { unreadable += 1 }
        }
        return (routes, unreadable)
    }

    // MARK: Compiled lookups

    /// Makes `lookup` the table's IPv4 lookup (one atomic swap: a packet
    /// sees the old lookup or the new one). The array must hold the table's
    /// routes already, and be pinned (``CompiledLookupMap/pin()``) so that a
    /// later process can adopt it.
    public func setCompiledLookup(table: UInt32, _ lookup: CompiledLookupMap) throws(BPFError) {
        var key = table
        var value = UInt32(bitPattern: lookup.fd.rawValue)
        try bpfCall("bpf_map_update_elem", "map rl_lookup_v4") { bpf_map_update_elem(lookupsV4.fd.rawValue, &key, &value, UInt64(BPF_ANY)) }
        writes.add()
    }

    /// Returns the table to the trie, and unpins its array.
    @discardableResult
    public func removeCompiledLookup(table: UInt32, pinDirectory: String) throws(BPFError) -> Bool {
        let removed = try lookupsV4.delete(table)
        unlink(CompiledLookupMap.pinPath(tableID: table, pinDirectory: pinDirectory))
        return removed
    }

    /// table id -> the kernel's id of the array its packets are looked up in.
    public func compiledLookupIDs() throws(BPFError) -> [UInt32: UInt32] {
        Dictionary(uniqueKeysWithValues: try lookupsV4.entries().map { ($0.key, $0.value) })
    }

    // MARK: Next-hop groups

    /// Writes a group of 1...RL_MAX_NEXTHOPS next hops.
    public func setGroup(_ id: UInt32, _ nexthops: [NextHop]) throws(BPFError) {
        guard let value = rl_group(nexthops) else {
            throw BPFError(operation: "setGroup", object: "group \(id)", errno: EINVAL,
                           hint: "a group holds 1 to \(RL_MAX_NEXTHOPS) next hops, not \(nexthops.count)")
        }
        try groups.update(id, value)
    }

    @discardableResult
    public func removeGroup(_ id: UInt32) throws(BPFError) -> Bool {
        try groups.delete(id)
    }

    public func group(_ id: UInt32) throws(BPFError) -> [NextHop]? {
        try groups.lookup(id)?.hops
    }

    /// Every group, and the ids of those whose bucket table is not the one
    /// their next hops build (changed behind the agent's back).
    public func allGroups() throws(BPFError) -> (groups: [UInt32: [NextHop]], damaged: Set<UInt32>) {
        var result: [UInt32: [NextHop]] = [:]
        var damaged: Set<UInt32> = []
        for (id, value) in try groups.entries() {
            result[id] = value.hops
            if !value.bucketsMatchHops { damaged.insert(id) }
        }
        return (result, damaged)
    }

    // MARK: Interface bindings

    /// Routes what arrives on `ifindex` with `table` (0: no RouteTable
    /// stage), and runs the gateway stage there when `gateway`.
    public func bind(ifindex: UInt32, table: UInt32, gateway: Bool = false) throws(BPFError) {
        var value = rl_iface()
        value.table_id = table
        value.flags = gateway ? UInt32(RL_IFACE_GATEWAY) : 0
        try ifaces.update(ifindex, value)
    }

    @discardableResult
    public func unbind(ifindex: UInt32) throws(BPFError) -> Bool {
        try ifaces.delete(ifindex)
    }

    /// ifindex -> table (0: none), and the interfaces that run the gateway stage.
    public func bindings() throws(BPFError) -> (tables: [UInt32: UInt32], gateway: Set<UInt32>) {
        var tables: [UInt32: UInt32] = [:]
        var gateway: Set<UInt32> = []
        for (ifindex, value) in try ifaces.entries() {
            tables[ifindex] = value.table_id
            if value.flags & UInt32(RL_IFACE_GATEWAY) != 0 { gateway.insert(ifindex) }
        }
        return (tables, gateway)
    }

    // MARK: Local addresses

    public func addLocalAddress(_ address: IPAddress) throws(BPFError) {
        try localAddrs.update(rl_addr_key(address), 1)
    }

    @discardableResult
    public func removeLocalAddress(_ address: IPAddress) throws(BPFError) -> Bool {
        try localAddrs.delete(rl_addr_key(address))
    }

    public func localAddresses() throws(BPFError) -> Set<IPAddress> {
        Set(try localAddrs.keys().compactMap(\.address))
    }

    // MARK: Counters

    @discardableResult
    public func removeCounter(routeID: UInt32) throws(BPFError) -> Bool {
        try routeStats.delete(routeID)
    }

    public func counter(routeID: UInt32) throws(BPFError) -> Counter? {
        try routeStats.lookup(routeID).map(Self.sum)
    }

    /// route id -> packets and bytes summed over CPUs.
    public func routeCounters() throws(BPFError) -> [UInt32: Counter] {
        var result: [UInt32: Counter] = [:]
        for id in try routeStats.keys() {
            if let values = try routeStats.lookup(id) { result[id] = Self.sum(values) }
        }
        return result
    }

    public func reasonCounters() throws(BPFError) -> [Reason: Counter] {
        var result: [Reason: Counter] = [:]
        for reason in Reason.allCases {
            result[reason] = try reasonStats.lookup(reason.rawValue).map(Self.sum) ?? .zero
        }
        return result
    }

    static func sum(_ values: [rl_counter]) -> Counter {
        values.reduce(.zero) { $0 + Counter(packets: $1.packets, bytes: $1.bytes) }
    }
}
