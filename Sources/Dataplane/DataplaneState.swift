#if canImport(Glibc)
import Glibc
#endif
import NetAddress

/// The actual data plane as the kernel holds it: routelet's TC filters in
/// the calling thread's network namespace, and every entry of the pinned
/// maps. This, not a cache of what was written, is what a reconciler diffs
/// against.
public struct DataplaneState: Sendable, Equatable {
    /// ifindex -> routelet's filter on that interface.
    public var attachments: [UInt32: TCAttachment] = [:]
    /// ifindex -> table.
    public var bindings: [UInt32: UInt32] = [:]
    public var routes: [RouteKey: RouteEntry] = [:]
    /// Route entries whose key or value the ABI can't express.
    public var unreadableRoutes = 0
    public var groups: [UInt32: [NextHop]] = [:]
    public var localAddresses: Set<IPAddress> = []
    /// route id -> counters.
    public var routeCounters: [UInt32: Counter] = [:]
    public var reasonCounters: [Reason: Counter] = [:]

    public init() {}

    /// Reads everything. `interfaces` limits which interfaces are queried for
    /// filters (default: every interface of the namespace).
    public static func read(maps: RouterMaps, interfaces: [UInt32]? = nil) throws(BPFError) -> DataplaneState {
        var state = DataplaneState()
        for ifindex in interfaces ?? Interfaces.all().keys.sorted() {
            if let attachment = try TC.query(ifindex: ifindex), attachment.programName == "rl_router" {
                state.attachments[ifindex] = attachment
            }
        }
        state.bindings = try maps.bindings()
        (state.routes, state.unreadableRoutes) = try maps.routes()
        state.groups = try maps.allGroups()
        state.localAddresses = try maps.localAddresses()
        state.routeCounters = try maps.routeCounters()
        state.reasonCounters = try maps.reasonCounters()
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

    public static func run(pinDirectory: String) throws(BPFError) -> Report {
        var report = Report()
        for (ifindex, name) in Interfaces.all().sorted(by: { $0.key < $1.key }) {
            guard let attachment = try TC.query(ifindex: ifindex), attachment.programName == "rl_router" else { continue }
            if try TC.detach(ifindex: ifindex) { report.detached.append(name) }
        }
        for name in RouterMaps.names {
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
