import DataplaneModel
import NetAddress

/// diff for the gateway stage: the operations that turn the actual
/// listeners, backends and Maglev tables into the desired ones. Pure.
/// Local (HTTP/HTTPS) listeners get an entry and nothing else.
///
/// Order: backends before the tables that name them, a table before the
/// listener that uses it; removals in reverse (listener, table, backend).
/// Ids are kept from the actual state for the same listener key or backend
/// endpoint, so conntrack entries and counters keep meaning what they did.
/// A backend that left every table stays while live flows use it
/// (`activeBackendIDs`), so `routelet dump` shows it draining.
enum GatewayPlanner {
    static let maxListeners = 1024
    static let maxBackendID: UInt32 = 65535

    struct Plan {
        var operations: [Operation] = []
        var removals: [Operation] = []
    }

    static func plan(desired: [ListenerKey: DesiredListener], actual: GatewayState, maglev: MaglevCache) -> Plan {
        var plan = Plan()
        let keys = desired.keys.sorted()

        // Backend ids: the actual id of the same endpoint, else a stable hash.
        var backendIDs: [BackendEntry: UInt32] = [:]
        for (id, entry) in actual.backends.sorted(by: { $0.key < $1.key }) where backendIDs[entry] == nil {
            backendIDs[entry] = id
        }
        var usedBackendIDs = Set(actual.backends.keys)
        var referenced: Set<UInt32> = []
        for key in keys {
            for backend in desired[key]!.backends.sorted(by: { $0.endpoint < $1.endpoint }) {
                let endpoint = backend.endpoint
                if let id = backendIDs[endpoint] {
                    referenced.insert(id)
                    continue
                }
                let id = allocateBackendID(Compiler.stableHash(endpoint.description + "|" + (endpoint.snatAddress?.description ?? "")),
                                           avoiding: &usedBackendIDs)
                backendIDs[endpoint] = id
                referenced.insert(id)
                plan.operations.append(.setBackend(id: id, endpoint, isNew: true))
            }
        }

        // Listener ids: the actual id of the same key, else the lowest free one.
        var listenerIDs: [ListenerKey: UInt32] = [:]
        var usedListenerIDs: Set<UInt32> = []
        for key in keys {
            if let id = actual.listeners[key]?.id, !usedListenerIDs.contains(id) {
                listenerIDs[key] = id
                usedListenerIDs.insert(id)
            }
        }
        var nextFree: UInt32 = 0
        for key in keys where listenerIDs[key] == nil {
            while usedListenerIDs.contains(nextFree) { nextFree += 1 }
            guard nextFree < maxListeners else { break }   // compile reports the listeners beyond the limit
            listenerIDs[key] = nextFree
            usedListenerIDs.insert(nextFree)
        }

        for key in keys {
            guard let id = listenerIDs[key] else { continue }
            let listener = desired[key]!
            let isNew = actual.listeners[key]?.id != id
            planSourceRanges(listener.sourceRanges, listenerID: id, isNew: isNew, actual: actual, into: &plan)
            let ranges = listener.sourceRanges
            if listener.local {
                // Handed to the local gateway: no table (one left from a
                // TCP listener of the same key goes after the entry changed).
                let entry = ListenerEntry.local(id: id, allowList: ranges.allow != nil, denyList: !ranges.deny.isEmpty)
                if actual.listeners[key] != entry {
                    plan.operations.append(.setListener(key, entry, isNew: isNew))
                }
                if actual.maglev[id] != nil { plan.removals.append(.removeMaglev(listenerID: id)) }
                if actual.captureNames[id] != nil { plan.removals.append(.removeCaptureNames(listenerID: id)) }
                continue
            }
            let live = listener.backends.filter { $0.weight > 0 }
            let slots = maglev.table(live.map { MaglevBackend(key: $0.endpoint.description, weight: $0.weight) },
                                     size: Int(listener.maglevSize))
                .map { backendIDs[live[Int($0)].endpoint]! }
            if !slots.isEmpty {
                if actual.maglev[id]?.slots != slots { plan.operations.append(.setMaglev(listenerID: id, slots: slots)) }
            } else if actual.maglev[id] != nil {
                // No backend takes new flows: they are dropped (and counted) at once, not after a sync.
                plan.operations.append(.removeMaglev(listenerID: id))
            }
            // Names before the flag that has flows look for them; gone after it.
            if let capture = listener.capture, actual.captureNames[id] != capture {
                plan.operations.append(.setCaptureNames(listenerID: id, capture))
            }
            let entry = ListenerEntry(id: id, snat: listener.snat, maglevSize: listener.maglevSize,
                                      idleTimeoutSeconds: listener.idleTimeoutSeconds, allowList: ranges.allow != nil,
                                      denyList: !ranges.deny.isEmpty, rateLimit: listener.rateLimit,
                                      capture: listener.capture != nil)
            if actual.listeners[key] != entry {
                plan.operations.append(.setListener(key, entry, isNew: isNew))
            }
            if listener.capture == nil, actual.captureNames[id] != nil {
                plan.removals.append(.removeCaptureNames(listenerID: id))
            }
        }

        plan.removals += actual.listeners.keys.sorted().filter { listenerIDs[$0] == nil }.map { .removeListener($0) }
        let kept = Set(listenerIDs.values)
        plan.removals += actual.maglev.keys.sorted().filter { !kept.contains($0) }.map { .removeMaglev(listenerID: $0) }
        plan.removals += actual.sourceRanges.filter { !kept.contains($0.listenerID) }.sorted().map { .removeSourceRange($0) }
        plan.removals += actual.captureNames.keys.sorted().filter { !kept.contains($0) }.map { .removeCaptureNames(listenerID: $0) }
        let draining = actual.activeBackendIDs ?? []
        plan.removals += actual.backends.keys.sorted().filter { !referenced.contains($0) && !draining.contains($0) }
            .map { .removeBackend(id: $0) }
        return plan
    }

    /// A listener's sourceRanges entries. New ones are written before the
    /// listener entry that turns their list on, so an allow list never
    /// refuses everyone and a deny list never lets a source through while it
    /// fills; ones no longer listed go after the entry changed. An id that
    /// passes to another listener loses the old listener's entries first:
    /// they must never widen the new one's allow list.
    static func planSourceRanges(_ ranges: DesiredSourceRanges, listenerID: UInt32, isNew: Bool, actual: GatewayState,
                                 into plan: inout Plan) {
        let wanted = ranges.entries(listenerID: listenerID)
        let present = actual.sourceRanges.filter { $0.listenerID == listenerID }
        let stale = present.subtracting(wanted).sorted().map { Operation.removeSourceRange($0) }
        if isNew { plan.operations += stale }
        plan.operations += wanted.subtracting(present).sorted().map { .addSourceRange($0) }
        if !isNew { plan.removals += stale }
    }

    /// `preferred` folded into 1...maxBackendID, or the next free id after it.
    static func allocateBackendID(_ preferred: UInt32, avoiding used: inout Set<UInt32>) -> UInt32 {
        var id = preferred % maxBackendID + 1
        while used.contains(id) { id = id % maxBackendID + 1 }
        used.insert(id)
        return id
    }
}
