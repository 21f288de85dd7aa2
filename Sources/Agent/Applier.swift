import Dataplane
import Netlink
import Reconciler

/// apply: executes a plan's operations, in order, through the data plane.
/// Stops at the first failure; the next pass reads the actual state again,
/// so a partly applied plan is simply continued.
public enum Applier {
    /// Returns the kernel writes made, by kind of operation (map updates
    /// and deletes, filter attaches and detaches, policy rules and routes;
    /// an attach that finds the current program already there is not a
    /// write). On a failure the writes made so far are in the error's
    /// `writes`. Policy rules and routes go through an rtnetlink socket of
    /// the calling thread's network namespace, opened when one is needed.
    public static func apply(_ operations: [Operation], to dataplane: Dataplane) throws(ApplyError) -> [String: Int] {
        let maps = dataplane.maps
        let gateway = dataplane.gateway
        var tally: [String: Int] = [:]
        var netlink: RouteNetlinkSocket?
        func socket() throws(NetlinkError) -> RouteNetlinkSocket {
            if let netlink { return netlink }
            let opened = try RouteNetlinkSocket()
            netlink = opened
            return opened
        }
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
                case .addSourceRange(let range): try gateway.addSourceRange(range)
                case .removeSourceRange(let range): wrote = try gateway.removeSourceRange(range)
                case .setCaptureNames(let listener, let names): try gateway.setCaptureNames(listenerID: listener, names)
                case .removeCaptureNames(let listener): wrote = try gateway.removeCaptureNames(listenerID: listener)
                case .setGatewayMark(let mark): try maps.setGatewayMark(mark)
                case .setLocalDelivery(let settings, let families):
                    wrote = try LocalDeliveryNetlink.ensure(settings, families: families, socket: socket()) > 0
                case .removeLocalDelivery(let table):
                    wrote = try LocalDeliveryNetlink.remove(table: table, socket: socket()) > 0
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
    /// A ``BPFError`` or, for policy rules and routes, a ``NetlinkError``.
    public var failure: any Error
    public var writes: [String: Int]
    public var description: String { "\(failure)" }
}
