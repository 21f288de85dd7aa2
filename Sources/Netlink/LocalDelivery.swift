import NetAddress

/// The policy routing that delivers packets carrying a mark to this host,
/// whatever their destination: per family, the rule `fwmark MARK/MASK
/// lookup TABLE` and the route `local default dev lo table TABLE`, both
/// tagged with `protocolNumber` so they are found again (what TPROXY setups
/// and Cilium's proxy install). routelet's gateway stage marks the packets
/// of HTTP/HTTPS listeners that it assigned to the local gateway's socket;
/// without this the kernel would forward them, since their destination (the
/// listener address) is no address of the node.
public struct LocalDelivery: Hashable, Sendable, CustomStringConvertible {
    public var mark: UInt32
    public var mask: UInt32
    public var table: UInt32
    public var priority: UInt32
    public var protocolNumber: UInt8
    public var families: Set<IPAddress.Family>

    /// The loopback interface's index, the same in every network namespace
    /// (LOOPBACK_IFINDEX in the kernel).
    public static let loopbackIndex: UInt32 = 1

    public init(mark: UInt32, mask: UInt32, table: UInt32, priority: UInt32, protocolNumber: UInt8,
                families: Set<IPAddress.Family> = [.v4, .v6]) {
        self.mark = mark
        self.mask = mask
        self.table = table
        self.priority = priority
        self.protocolNumber = protocolNumber
        self.families = families
    }

    public var description: String {
        "fwmark 0x\(String(mark, radix: 16))/0x\(String(mask, radix: 16)) pref \(priority) lookup \(table) proto \(protocolNumber) (\(Self.sorted(families).map(\.description).joined(separator: ", ")))"
    }

    /// The rule of each family.
    public var rules: [PolicyRule] {
        Self.sorted(families).map {
            PolicyRule(family: $0, priority: priority, mark: mark, mask: mask, table: table, protocolNumber: protocolNumber)
        }
    }

    /// The local default route of each family.
    public var routes: [TableRoute] {
        Self.sorted(families).map {
            TableRoute.local(Self.defaultPrefix($0), table: table, loopback: Self.loopbackIndex, protocolNumber: protocolNumber)
        }
    }

    /// The rules and routes tagged with one protocol number, as the kernel holds them.
    public struct Installed: Hashable, Sendable {
        public var rules: [PolicyRule] = []
        public var routes: [TableRoute] = []

        public init(rules: [PolicyRule] = [], routes: [TableRoute] = []) {
            self.rules = rules
            self.routes = routes
        }

        public var isEmpty: Bool { rules.isEmpty && routes.isEmpty }
    }

    /// The rules tagged with `protocolNumber` (both families), and the
    /// routes tagged with it in `tables` and in the tables those rules look up.
    public static func installed(protocolNumber: UInt8, tables: Set<UInt32>, socket: RouteNetlinkSocket) throws(NetlinkError) -> Installed {
        var result = Installed()
        var tables = tables
        for family in [IPAddress.Family.v4, .v6] {
            for rule in try socket.dumpRules(family: family) where rule.protocolNumber == protocolNumber {
                result.rules.append(rule)
                tables.insert(rule.table)
            }
        }
        for table in tables.sorted() {
            for family in [IPAddress.Family.v4, .v6] {
                result.routes += try socket.dumpRoutes(family: family, table: table).filter { $0.protocolNumber == protocolNumber }
            }
        }
        return result
    }

    /// The policy `installed` amounts to, when it is exactly one: for each
    /// family that has any, one rule and its table's local default route,
    /// all with the same mark, mask, table and priority. Nil for nothing,
    /// or for anything else (a rule without its route, two marks, ...).
    public init?(installed: Installed, protocolNumber: UInt8) {
        guard let first = installed.rules.first, !first.hasOtherSelectors else { return nil }
        let families = Set(installed.rules.map(\.family))
        self.init(mark: first.mark, mask: first.mask, table: first.table, priority: first.priority, protocolNumber: protocolNumber,
                  families: families)
        guard installed.rules.count == families.count, Set(installed.rules) == Set(rules),
              installed.routes.count == families.count, Set(installed.routes) == Set(routes) else { return nil }
    }

    /// Whether the kernel holds exactly this policy: every rule and route,
    /// and no other rule or route tagged with its protocol number.
    public func isInstalled(socket: RouteNetlinkSocket) throws(NetlinkError) -> Bool {
        let now = try Self.installed(protocolNumber: protocolNumber, tables: [table], socket: socket)
        return LocalDelivery(installed: now, protocolNumber: protocolNumber) == self
    }

    /// Makes the kernel hold exactly this policy: the route of each family
    /// before its rule (a marked packet never finds the rule without its
    /// table), then the removal of every other rule and route tagged with
    /// this protocol number (an old mark, table or family). Idempotent;
    /// returns the number of rules and routes added or removed.
    @discardableResult
    public func ensure(socket: RouteNetlinkSocket) throws(NetlinkError) -> Int {
        let now = try Self.installed(protocolNumber: protocolNumber, tables: [table], socket: socket)
        var changes = 0
        let wantedRoutes = Set(routes), wantedRules = Set(rules)
        for route in routes where !now.routes.contains(route) {
            try socket.replaceRoute(route)
            changes += 1
        }
        for rule in rules where !now.rules.contains(rule) {
            if try socket.addRule(rule) { changes += 1 }
        }
        // Stale ones last, rules before the routes they lead to.
        for rule in now.rules where !wantedRules.contains(rule) {
            if try socket.deleteRule(rule) { changes += 1 }
        }
        for route in now.routes where !wantedRoutes.contains(route) {
            if try socket.deleteRoute(route) { changes += 1 }
        }
        return changes
    }

    /// Removes every rule tagged with `protocolNumber`, then the routes
    /// tagged with it in `tables` and in the tables those rules looked up.
    /// Returns how many were removed.
    @discardableResult
    public static func remove(protocolNumber: UInt8, tables: Set<UInt32>, socket: RouteNetlinkSocket) throws(NetlinkError) -> Int {
        let now = try installed(protocolNumber: protocolNumber, tables: tables, socket: socket)
        var removed = 0
        for rule in now.rules where try socket.deleteRule(rule) { removed += 1 }
        for route in now.routes where try socket.deleteRoute(route) { removed += 1 }
        return removed
    }

    static func defaultPrefix(_ family: IPAddress.Family) -> IPPrefix {
        family == .v4 ? IPPrefix("0.0.0.0/0")! : IPPrefix("::/0")!
    }

    static func sorted(_ families: Set<IPAddress.Family>) -> [IPAddress.Family] {
        [.v4, .v6].filter { families.contains($0) }
    }
}
