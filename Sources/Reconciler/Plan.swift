import DataplaneModel
import NetAddress

/// One change to the data plane. `apply` executes them in order.
public enum Operation: Hashable, Sendable, CustomStringConvertible {
    case setGroup(id: UInt32, nexthops: [NextHop])
    case addLocalAddress(IPAddress)
    case setRoute(RouteKey, RouteEntry)
    case setBackend(id: UInt32, BackendEntry, isNew: Bool)
    case setMaglev(listenerID: UInt32, slots: [UInt32])
    case setListener(ListenerKey, ListenerEntry, isNew: Bool)
    case addSourceRange(SourceRange)
    case setCaptureNames(listenerID: UInt32, CaptureNames)
    /// The mark the program sets on what it hands to the local gateway.
    case setGatewayMark(GatewayMark)
    /// The policy rules and local routes that deliver marked packets to the
    /// node, for these families; other rules and routes of routelet's go.
    case setLocalDelivery(LocalDeliverySettings, families: Set<IPAddress.Family>)
    /// `table` 0: no RouteTable stage; `gateway`: the gateway stage runs.
    case bind(ifindex: UInt32, table: UInt32, gateway: Bool)
    case attach(ifindex: UInt32)
    case detach(ifindex: UInt32)
    case unbind(ifindex: UInt32)
    case removeRoute(RouteKey)
    case removeListener(ListenerKey)
    case removeMaglev(listenerID: UInt32)
    case removeSourceRange(SourceRange)
    case removeCaptureNames(listenerID: UInt32)
    case removeBackend(id: UInt32)
    case removeGroup(id: UInt32)
    case removeCounter(routeID: UInt32)
    case removeLocalAddress(IPAddress)
    /// Every policy rule and route of routelet's (no local listener is
    /// left): its rules, and its routes in `table` and the rules' tables.
    case removeLocalDelivery(table: UInt32)

    public var description: String {
        switch self {
        case .setGroup(let id, let hops): "set group \(id) \(hops)"
        case .addLocalAddress(let address): "protect \(address)"
        case .setRoute(let key, let entry): "set \(key) -> \(entry.action) (id \(entry.id))"
        case .setBackend(let id, let entry, _): "set backend \(id) \(entry)"
        case .setMaglev(let listener, let slots): "set Maglev table of listener \(listener) (\(slots.count) slots)"
        case .setListener(let key, let entry, _): "set listener \(key) (id \(entry.id)\(entry.local ? ", local gateway" : ""))"
        case .addSourceRange(let range): "add source range: \(range)"
        case .removeSourceRange(let range): "remove source range: \(range)"
        case .setCaptureNames(let listener, let names): "capture headers \(names) on listener \(listener)"
        case .removeCaptureNames(let listener): "stop capturing headers on listener \(listener)"
        case .setGatewayMark(let mark): "set the gateway mark \(mark)"
        case .setLocalDelivery(let settings, let families):
            "deliver marked packets locally: \(settings) (\([IPAddress.Family.v4, .v6].filter { families.contains($0) }.map(\.description).joined(separator: ", ")))"
        case .bind(let ifindex, let table, let gateway): "bind ifindex \(ifindex) to table \(table)\(gateway ? " and the gateway stage" : "")"
        case .attach(let ifindex): "attach ifindex \(ifindex)"
        case .detach(let ifindex): "detach ifindex \(ifindex)"
        case .unbind(let ifindex): "unbind ifindex \(ifindex)"
        case .removeRoute(let key): "remove \(key)"
        case .removeListener(let key): "remove listener \(key)"
        case .removeMaglev(let listener): "remove Maglev table of listener \(listener)"
        case .removeBackend(let id): "remove backend \(id)"
        case .removeGroup(let id): "remove group \(id)"
        case .removeCounter(let id): "remove counter \(id)"
        case .removeLocalAddress(let address): "unprotect \(address)"
        case .removeLocalDelivery: "remove the local delivery rules and routes"
        }
    }

    /// Whether it removes a gateway backend (the agent then reads conntrack
    /// first, so that backends live flows use stay while they drain).
    public var removesBackend: Bool {
        if case .removeBackend = self { true } else { false }
    }

    /// Whether it removes something (held back until every source synced).
    public var isRemoval: Bool {
        switch self {
        case .detach, .unbind, .removeRoute, .removeGroup, .removeCounter, .removeLocalAddress,
             .removeListener, .removeMaglev, .removeSourceRange, .removeCaptureNames, .removeBackend, .removeLocalDelivery: true
        default: false
        }
    }
}

/// diff: the ordered operations that turn the actual data plane into the
/// desired one. Pure. The order never opens a hole: what an entry points to
/// is written before the entry (counters, groups, then routes, then
/// bindings, then filters), changed routes are rewritten in place, and
/// removals run last in the reverse order.
public enum Planner {
    public struct Plan: Hashable, Sendable {
        public var operations: [Operation]
        /// The entry each desired route gets (ids kept from the actual state).
        public var entries: [RouteKey: RouteEntry]
    }

    /// - Parameters:
    ///   - isCurrent: whether an attached filter runs this agent's program over its maps.
    ///   - prune: false until every source has finished its first full sync:
    ///     nothing is removed before then.
    ///   - maglev: the Maglev tables of earlier passes (the agent keeps one
    ///     for its life; nil builds every table).
    public static func plan(desired: DesiredDataplane, actual: DataplaneState,
                            isCurrent: (TCAttachment) -> Bool, prune: Bool = true, maglev: MaglevCache? = nil) -> Plan {
        // Route ids: the actual entry's id for a key that is already there
        // (counters survive changes and restarts), else a stable hash.
        var usedIDs = Set(actual.routes.values.map(\.id))
        var ids: [RouteKey: UInt32] = [:]
        var taken: Set<UInt32> = []
        let keys = desired.routes.keys.sorted()
        for key in keys {
            if let existing = actual.routes[key]?.id, !taken.contains(existing) {
                ids[key] = existing
                taken.insert(existing)
            }
        }
        usedIDs.formUnion(taken)
        for key in keys where ids[key] == nil {
            ids[key] = Compiler.allocate(routeHash(key), avoiding: &usedIDs)
        }

        // Groups: one per distinct next-hop set, reusing an identical actual one.
        var actualGroupByHops: [[NextHop]: UInt32] = [:]
        for (id, hops) in actual.groups.sorted(by: { $0.key < $1.key }) where actualGroupByHops[hops] == nil {
            actualGroupByHops[hops] = id
        }
        var usedGroupIDs = Set(actual.groups.keys)
        var groupIDs: [[NextHop]: UInt32] = [:]
        var newGroups: [(UInt32, [NextHop])] = []
        var entries: [RouteKey: RouteEntry] = [:]
        for key in keys {
            let action: RouteAction
            switch desired.routes[key]! {
            case .blackhole: action = .blackhole
            case .local: action = .local
            case .forward(let hops):
                if let id = groupIDs[hops] ?? actualGroupByHops[hops] {
                    groupIDs[hops] = id
                    action = .forward(group: id)
                } else {
                    let id = Compiler.allocate(UInt32(usedGroupIDs.count + 1), avoiding: &usedGroupIDs)
                    groupIDs[hops] = id
                    newGroups.append((id, hops))
                    action = .forward(group: id)
                }
            }
            entries[key] = RouteEntry(id: ids[key]!, action: action)
        }

        var operations: [Operation] = []
        // 1. What routes point to: groups; and the node's own addresses.
        // A route's counter is created by the program on its first packet
        // (creating 1M per-CPU entries up front costs ~12 s of syscalls,
        // see docs/performance.md); stale ones are removed below.
        let desiredIDs = Set(entries.values.map(\.id))
        operations += newGroups.map { .setGroup(id: $0.0, nexthops: $0.1) }
        // A kept group whose buckets were changed behind our back: rewritten
        // in place (one atomic update; its flows return to their next hops).
        operations += groupIDs.filter { actual.damagedGroups.contains($0.value) }
            .sorted { $0.value < $1.value }.map { .setGroup(id: $0.value, nexthops: $0.key) }
        operations += desired.localAddresses.subtracting(actual.localAddresses).sorted().map { .addLocalAddress($0) }
        // 2. Routes, new or changed in place.
        operations += keys.filter { actual.routes[$0] != entries[$0] }.map { .setRoute($0, entries[$0]!) }
        // 3. The gateway: the mark and the local delivery that local
        // listeners need, before them; backends, Maglev tables and listeners.
        let localFamilies = Set(desired.listeners.filter(\.value.local).map(\.key.address.family))
        var localDeliveryRemovals: [Operation] = []
        if !localFamilies.isEmpty {
            let settings = desired.localDelivery
            if let mark = actual.gatewayMark, mark != settings.gatewayMark { operations.append(.setGatewayMark(settings.gatewayMark)) }
            if let state = actual.localDelivery, state != .installed(settings, families: localFamilies) {
                operations.append(.setLocalDelivery(settings, families: localFamilies))
            }
        } else if let state = actual.localDelivery, state != .absent {
            localDeliveryRemovals.append(.removeLocalDelivery(table: desired.localDelivery.table))
        }
        let gateway = GatewayPlanner.plan(desired: desired.listeners, actual: actual.gateway, maglev: maglev ?? MaglevCache())
        operations += gateway.operations
        // 4. Bindings, then the filters that use them.
        let interfaces = Set(desired.bindings.keys).union(desired.gatewayInterfaces).sorted()
        for ifindex in interfaces {
            let table = desired.bindings[ifindex] ?? 0
            let runsGateway = desired.gatewayInterfaces.contains(ifindex)
            if actual.bindings[ifindex] != table || actual.gatewayInterfaces.contains(ifindex) != runsGateway {
                operations.append(.bind(ifindex: ifindex, table: table, gateway: runsGateway))
            }
        }
        operations += interfaces
            .filter { ifindex in actual.attachments[ifindex].map { !isCurrent($0) } ?? true }
            .map { .attach(ifindex: $0) }
        // 5. Removals, in reverse dependency order.
        let wanted = Set(interfaces)
        var removals: [Operation] = []
        removals += actual.attachments.keys.sorted().filter { !wanted.contains($0) }.map { .detach(ifindex: $0) }
        removals += actual.bindings.keys.sorted().filter { !wanted.contains($0) }.map { .unbind(ifindex: $0) }
        removals += gateway.removals
        removals += localDeliveryRemovals
        removals += actual.routes.keys.sorted().filter { entries[$0] == nil }.map { .removeRoute($0) }
        let referenced = Set(entries.values.compactMap { entry -> UInt32? in
            if case .forward(let group) = entry.action { return group }
            return nil
        })
        removals += actual.groups.keys.sorted().filter { !referenced.contains($0) }.map { .removeGroup(id: $0) }
        removals += Set(actual.routeCounters.keys).subtracting(desiredIDs).sorted().map { .removeCounter(routeID: $0) }
        removals += actual.localAddresses.subtracting(desired.localAddresses).sorted().map { .removeLocalAddress($0) }
        if prune { operations += removals }
        return Plan(operations: operations, entries: entries)
    }

    /// A stable 32-bit hash of a route key (FNV-1a over table, address, length).
    static func routeHash(_ key: RouteKey) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        let bytes = withUnsafeBytes(of: key.table.bigEndian) { Array($0) } + key.prefix.address.bytes + [UInt8(key.prefix.length)]
        for byte in bytes {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return hash
    }
}
