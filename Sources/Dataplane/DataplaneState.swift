import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NetAddress

extension DataplaneState {
    /// Reads everything. `interfaces` limits which interfaces are queried for
    /// filters (default: every interface of the namespace).
    /// `gatewayCounters`: also the listeners' and backends' counters (for
    /// `routelet dump`; a pass does not need them).
    public static func read(maps: RouterMaps, gateway: GatewayMaps? = nil, gatewayCounters: Bool = false,
                            interfaces: [UInt32]? = nil) throws(BPFError) -> DataplaneState {
        var state = DataplaneState()
        for ifindex in interfaces ?? Interfaces.all().keys.sorted() {
            if let attachment = try TC.query(ifindex: ifindex), attachment.isRouter {
                state.attachments[ifindex] = attachment
            }
        }
        (state.bindings, state.gatewayInterfaces) = try maps.bindings()
        (state.routes, state.unreadableRoutes) = try maps.routes()
        (state.groups, state.damagedGroups) = try maps.allGroups()
        state.localAddresses = try maps.localAddresses()
        state.routeCounters = try maps.routeCounters()
        state.reasonCounters = try maps.reasonCounters()
        state.gatewayMark = try maps.gatewayMark()
        if let gateway { state.gateway = try gateway.state(counters: gatewayCounters) }
        return state
    }
}

/// Removes what routelet owns, and nothing else: its filter on every
/// interface of the calling thread's namespace, and its pins.
public enum Cleanup {
    public struct Report: Sendable, Equatable {
        public var detached: [String] = []
        public var unpinned: [String] = []
    }

    @discardableResult
    public static func run(pinDirectory: String) throws(BPFError) -> Report {
        var report = Report()
        for (ifindex, name) in Interfaces.all().sorted(by: { $0.key < $1.key }) {
            guard let attachment = try TC.query(ifindex: ifindex), attachment.isRouter else { continue }
            if try TC.detach(ifindex: ifindex) { report.detached.append(name) }
        }
        for name in Dataplane.pins(in: pinDirectory) {
            let path = "\(pinDirectory)/\(name)"
            if unlink(path) == 0 {
                report.unpinned.append(path)
            } else if errno != ENOENT {
                throw BPFError(operation: "unlink", object: path, errno: errno)
            }
        }
        rmdir(pinDirectory) // only if empty; a mount point stays
        return report
    }
}
