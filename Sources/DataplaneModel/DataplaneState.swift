import NetAddress

/// The actual data plane as the kernel holds it: routelet's TC filters in
/// the calling thread's network namespace, and every entry of the pinned
/// maps. This, not a cache of what was written, is what a reconciler diffs
/// against.
public struct DataplaneState: Sendable, Equatable {
    /// ifindex -> routelet's filter on that interface.
    public var attachments: [UInt32: TCAttachment] = [:]
    /// ifindex -> table (0: the interface runs no RouteTable stage).
    public var bindings: [UInt32: UInt32] = [:]
    /// Interfaces whose entry runs the gateway stage (a subset of `bindings`' keys).
    public var gatewayInterfaces: Set<UInt32> = []
    public var routes: [RouteKey: RouteEntry] = [:]
    /// Route entries whose key or value the ABI can't express.
    public var unreadableRoutes = 0
    public var groups: [UInt32: [NextHop]] = [:]
    /// Groups whose bucket table is not the one their next hops build
    /// (`BucketTable`): rewritten by the next pass.
    public var damagedGroups: Set<UInt32> = []
    public var localAddresses: Set<IPAddress> = []
    /// route id -> counters.
    public var routeCounters: [UInt32: Counter] = [:]
    public var reasonCounters: [Reason: Counter] = [:]
    public var gateway = GatewayState()
    /// The mark the program sets on packets it hands to the local gateway
    /// (`rl_config`, defaults applied); nil when not read.
    public var gatewayMark: GatewayMark?
    /// routelet's policy rules and routes for local delivery, read through
    /// rtnetlink by whoever can (not the Dataplane module); nil when not
    /// read, and then no pass changes them.
    public var localDelivery: LocalDeliveryState?

    public init() {}
}
