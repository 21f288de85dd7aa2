import Dataplane
import Reconciler

/// apply: executes a plan's operations, in order, through the data plane.
/// Stops at the first failure; the next pass reads the actual state again,
/// so a partly applied plan is simply continued.
public enum Applier {
    /// Returns the number of kernel writes made (map updates and deletes,
    /// filter attaches and detaches).
    public static func apply(_ operations: [Operation], to dataplane: Dataplane) throws(BPFError) -> Int {
        let maps = dataplane.maps
        let before = maps.writes.value
        var filterWrites = 0
        for operation in operations {
            switch operation {
            case .createCounter(let id): try maps.createCounter(routeID: id)
            case .setGroup(let id, let hops): try maps.setGroup(id, hops)
            case .addLocalAddress(let address): try maps.addLocalAddress(address)
            case .setRoute(let key, let entry): try maps.setRoute(key, entry)
            case .bind(let ifindex, let table): try maps.bind(ifindex: ifindex, table: table)
            case .attach(let ifindex):
                if try dataplane.attach(ifindex: ifindex) != .unchanged { filterWrites += 1 }
            case .detach(let ifindex):
                if try dataplane.detach(ifindex: ifindex) { filterWrites += 1 }
            case .unbind(let ifindex): try maps.unbind(ifindex: ifindex)
            case .removeRoute(let key): try maps.removeRoute(key)
            case .removeGroup(let id): try maps.removeGroup(id)
            case .removeCounter(let id): try maps.removeCounter(routeID: id)
            case .removeLocalAddress(let address): try maps.removeLocalAddress(address)
            }
        }
        return maps.writes.value - before + filterWrites
    }
}
