import DataplaneModel
import NetAddress

/// What one prefix should do, before ids and groups are assigned.
public enum DesiredAction: Hashable, Sendable {
    /// Forward over these next hops (sorted, 1...16).
    case forward([NextHop])
    case blackhole
    case local
}

/// The data plane compile wants on this node, keyed the way the maps are.
public struct DesiredDataplane: Hashable, Sendable {
    /// ifindex -> table id of the interfaces RouteTables bind.
    public var bindings: [UInt32: UInt32] = [:]
    /// Interfaces GatewayRoutes bind: the gateway stage runs there. The
    /// program is attached on these and on those of `bindings`.
    public var gatewayInterfaces: Set<UInt32> = []
    /// The listeners of GatewayRoutes: TCP/UDP load balanced in eBPF,
    /// HTTP/HTTPS handed to the local gateway (`DesiredListener.local`).
    public var listeners: [ListenerKey: DesiredListener] = [:]
    /// How local listeners' packets reach the gateway: the program's mark
    /// and the policy routing for it, installed while any local listener is.
    public var localDelivery = LocalDeliverySettings.default
    public var routes: [RouteKey: DesiredAction] = [:]
    public var localAddresses: Set<IPAddress> = []
    /// Which table (by name) each route belongs to, for logs and status.
    public var owners: [RouteKey: String] = [:]

    public init() {}
}

/// One listener as compile wants it, before ids are assigned.
public struct DesiredListener: Hashable, Sendable {
    /// The GatewayRoute it serves ("namespace/name"; the oldest, when HTTP
    /// routes share it), for logs and status.
    public var owner: String
    public var snat: Bool
    public var maglevSize: UInt32
    public var idleTimeoutSeconds: UInt32
    /// Its backends; those of weight 0 take no new flows (drain). Empty for
    /// a local listener: the gateway resolves its own.
    public var backends: [DesiredBackend]
    /// HTTP/HTTPS: handed to the local `routelet gateway`, no Maglev table.
    public var local: Bool
    /// sourceRanges, enforced in eBPF for every protocol.
    public var sourceRanges: DesiredSourceRanges
    /// rateLimit of new flows per client (TCP/UDP; the gateway limits HTTP requests).
    public var rateLimit: FlowRateLimit?
    /// accessLog.headers of a TCP listener, captured in eBPF; nil for none
    /// (HTTP/HTTPS: the gateway logs them).
    public var capture: CaptureNames?

    public init(owner: String, snat: Bool, maglevSize: UInt32, idleTimeoutSeconds: UInt32, backends: [DesiredBackend], local: Bool = false,
                sourceRanges: DesiredSourceRanges = .everySource, rateLimit: FlowRateLimit? = nil, capture: CaptureNames? = nil) {
        self.owner = owner
        self.snat = snat
        self.maglevSize = maglevSize
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.backends = backends
        self.local = local
        self.sourceRanges = sourceRanges
        self.rateLimit = rateLimit
        self.capture = capture
    }

    /// An HTTP/HTTPS listener, served by the local gateway.
    public static func local(owner: String, sourceRanges: DesiredSourceRanges = .everySource) -> DesiredListener {
        DesiredListener(owner: owner, snat: false, maglevSize: 0, idleTimeoutSeconds: 0, backends: [], local: true, sourceRanges: sourceRanges)
    }
}

/// A listener's sourceRanges: `allow` nil lets every source in that `deny` does not name.
public struct DesiredSourceRanges: Hashable, Sendable {
    public var allow: Set<IPPrefix>?
    public var deny: Set<IPPrefix>

    public init(allow: Set<IPPrefix>? = nil, deny: Set<IPPrefix> = []) {
        self.allow = allow
        self.deny = deny
    }

    public static let everySource = DesiredSourceRanges()

    /// The entries a listener's id gets in `rl_sources_v4` / `_v6`.
    public func entries(listenerID: UInt32) -> Set<SourceRange> {
        Set((allow ?? []).map { SourceRange(listenerID: listenerID, list: .allow, prefix: $0) }
            + deny.map { SourceRange(listenerID: listenerID, list: .deny, prefix: $0) })
    }

    /// How many entries it takes in each family's trie.
    public var count: Int { (allow?.count ?? 0) + deny.count }
}

/// A backend endpoint and its weight in a listener's Maglev table.
public struct DesiredBackend: Hashable, Sendable {
    public var endpoint: BackendEntry
    public var weight: UInt32

    public init(endpoint: BackendEntry, weight: UInt32) {
        self.endpoint = endpoint
        self.weight = weight
    }
}

/// Why part of a table is not programmed on this node.
public struct Problem: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: String, Hashable, Sendable {
        case interfaceConflict = "InterfaceConflict"
        case interfaceNotFound = "InterfaceNotFound"
        case interfaceDown = "InterfaceDown"
        case noInterfaces = "NoInterfaces"
        case tooManyNextHops = "TooManyNextHops"
        case tableIDCollision = "TableIDCollision"
        // GatewayRoute
        case invalid = "Invalid"
        case listenerConflict = "ListenerConflict"
        case listenerIsNodeAddress = "ListenerIsNodeAddress"
        case unsupportedProtocol = "UnsupportedProtocol"
        case backendNotFound = "BackendNotFound"
        case noReadyEndpoints = "NoReadyEndpoints"
        case noSNATAddress = "NoSNATAddress"
        case tooManyListeners = "TooManyListeners"
        case tooManySourceRanges = "TooManySourceRanges"
        case unsupportedField = "UnsupportedField"
        case headerCaptureUnsupported = "HeaderCaptureUnsupported"
        case gatewayNotServing = "GatewayNotServing"
        case invalidCertificateRef = "InvalidCertificateRef"
    }

    public var reason: Reason
    public var message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason.rawValue): \(message)" }
}

/// How one RouteTable fared on this node: what compile decided and why.
public struct TableVerdict: Hashable, Sendable {
    public var name: String
    public var generation: Int64?
    public var tableID: UInt32
    /// The interfaces this table routes on this node.
    public var interfaces: [String]
    /// Routes in the spec.
    public var desiredRoutes: Int
    /// Prefixes with a usable route, installed.
    public var installedPrefixes: Int
    /// Prefixes without any usable route, left out.
    public var downPrefixes: Int
    public var problems: [Problem]
    /// Installed prefixes that serve without some of their next hops (an
    /// interface missing or down): the node's state, not a fault of the
    /// spec, so they leave the table programmed.
    public var degraded: [Problem] = []

    /// Programmed: every interface bound and every prefix installed.
    public var isProgrammed: Bool { problems.isEmpty }
}

/// The result of compile: the desired data plane and a verdict per selected
/// table (tables whose nodeSelector does not match this node are absent).
public struct Compilation: Hashable, Sendable {
    public var desired: DesiredDataplane
    public var verdicts: [TableVerdict]
}
