import Dataplane
import Reconciler

/// apply: executes a plan's operations, in order, through the data plane.
/// Stops at the first failure; the next pass reads the actual state again,
/// so a partly applied plan is simply continued.
public enum Applier {
    /// Returns the kernel writes made, by kind of operation (map updates
    /// and deletes, filter attaches and detaches; an attach that finds the
    /// current program already there is not a write). On a failure the
    /// writes made so far are in the error's `writes`.
    public static func apply(_ operations: [Operation], to dataplane: Dataplane) throws(ApplyError) -> [String: Int] {
        let maps = dataplane.maps
        let gateway = dataplane.gateway
        var tally: [String: Int] = [:]
        for operation in operations {
            do {
                var wrote = true
                switch operation {
                case .setGroup(let id, let hops): try maps.setGroup(id, hops)
                case .addLocalAddress(let address): try maps.addLocalAddress(address)
                case .setRoute(let key, let entry): try maps.setRoute(key, entry)
                case .setBackend(let id, let entry, let isNew): try gateway.setBackend(id, entry, isNew: isNew)
                case .setMaglev(let listener, let slots): try gateway.setMaglev(listenerID: listener, slots: slots)
                case .setListener(let key, let entry, let isNew):
                    if isNew { try gateway.resetListenerCounter(entry.id) }
                    try gateway.setListener(key, entry)
                case .bind(let ifindex, let table, let runsGateway): try maps.bind(ifindex: ifindex, table: table, gateway: runsGateway)
                case .attach(let ifindex): wrote = try dataplane.attach(ifindex: ifindex) != .unchanged
                case .detach(let ifindex): wrote = try dataplane.detach(ifindex: ifindex)
                case .unbind(let ifindex): wrote = try maps.unbind(ifindex: ifindex)
                case .removeRoute(let key): wrote = try maps.removeRoute(key)
                case .removeListener(let key): wrote = try gateway.removeListener(key)
                case .removeMaglev(let listener): wrote = try gateway.removeMaglev(listenerID: listener)
                case .removeBackend(let id): wrote = try gateway.removeBackend(id)
                case .removeGroup(let id): wrote = try maps.removeGroup(id)
                case .removeCounter(let id): wrote = try maps.removeCounter(routeID: id)
                case .removeLocalAddress(let address): wrote = try maps.removeLocalAddress(address)
                }
                if wrote { tally[operation.metricKind, default: 0] += 1 }
            } catch {
                throw ApplyError(failure: error, writes: tally)
            }
        }
        return tally
    }
}

/// A plan that failed part way: why, and what was written before.
public struct ApplyError: Error, CustomStringConvertible {
    public var failure: BPFError
    public var writes: [String: Int]
    public var description: String { "\(failure)" }
}
