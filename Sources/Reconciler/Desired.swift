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
    /// ifindex -> table id; the router program is attached on exactly these.
    public var bindings: [UInt32: UInt32] = [:]
    public var routes: [RouteKey: DesiredAction] = [:]
    public var localAddresses: Set<IPAddress> = []
    /// Which table (by name) each route belongs to, for logs and status.
    public var owners: [RouteKey: String] = [:]

    public init() {}
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

    /// Programmed: every interface bound and every prefix installed.
    public var isProgrammed: Bool { problems.isEmpty }
}

/// The result of compile: the desired data plane and a verdict per selected
/// table (tables whose nodeSelector does not match this node are absent).
public struct Compilation: Hashable, Sendable {
    public var desired: DesiredDataplane
    public var verdicts: [TableVerdict]
}
