#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NetAddress

/// Policy rules (RTM_*RULE) and the routes of one table (RTM_*ROUTE): what
/// ``LocalDelivery`` reads and writes.
extension RouteNetlinkSocket {
    /// Every policy rule of `family` (RTM_GETRULE dump), in kernel order.
    public func dumpRules(family: IPAddress.Family) throws(NetlinkError) -> [PolicyRule] {
        var header = [UInt8](repeating: 0, count: NetlinkWire.fibRuleHeaderSize)
        header[0] = family == .v4 ? NetlinkWire.familyInet : NetlinkWire.familyInet6
        let messages = try dump(type: NetlinkWire.getRule, header: header, operation: "RTM_GETRULE dump (\(family))")
        var rules: [PolicyRule] = []
        for message in messages {
            if let rule = try NetlinkParser.rule(from: message), rule.family == family { rules.append(rule) }
        }
        return rules
    }

    /// Adds `rule` (RTM_NEWRULE with NLM_F_EXCL). Returns false when an
    /// identical rule is already there (the kernel's EEXIST).
    @discardableResult
    public func addRule(_ rule: PolicyRule) throws(NetlinkError) -> Bool {
        do {
            try request(type: NetlinkWire.newRule, flags: NetlinkWire.create | NetlinkWire.exclusive, payload: rule.payload,
                        operation: "RTM_NEWRULE \(rule)")
            return true
        } catch where error.errno == EEXIST {
            return false
        }
    }

    /// Deletes one rule matching `rule` (RTM_DELRULE). Returns false when
    /// there was none (ENOENT).
    @discardableResult
    public func deleteRule(_ rule: PolicyRule) throws(NetlinkError) -> Bool {
        do {
            try request(type: NetlinkWire.deleteRule, flags: 0, payload: rule.payload, operation: "RTM_DELRULE \(rule)")
            return true
        } catch where error.errno == ENOENT {
            return false
        }
    }

    /// The routes of `family` in `table` (an RTM_GETROUTE dump the kernel
    /// filters by table, so a node's big main table is not read). A table
    /// that does not exist has no routes.
    public func dumpRoutes(family: IPAddress.Family, table: UInt32) throws(NetlinkError) -> [TableRoute] {
        try enableStrictChecking()
        var header = [UInt8](repeating: 0, count: NetlinkWire.rtmsgSize)
        header[0] = family == .v4 ? NetlinkWire.familyInet : NetlinkWire.familyInet6
        header[4] = table < 256 ? UInt8(table) : NetlinkWire.tableUnspecified
        header += NetlinkAttribute(type: NetlinkWire.routeTable, value: nativeBytes(table)).encoded
        let messages: [NetlinkMessage]
        do {
            messages = try dump(type: NetlinkWire.getRoute, header: header, operation: "RTM_GETROUTE dump (\(family), table \(table))")
        } catch where error.errno == ENOENT {
            return []   // "FIB table does not exist"
        }
        var routes: [TableRoute] = []
        for message in messages {
            // Strict checking filters by table; a kernel without it would not.
            if let route = try NetlinkParser.route(from: message), route.table == table, route.destination.family == family {
                routes.append(route)
            }
        }
        return routes
    }

    /// Adds `route`, or replaces the route of the same prefix in its table
    /// (RTM_NEWROUTE with NLM_F_CREATE | NLM_F_REPLACE): idempotent.
    public func replaceRoute(_ route: TableRoute) throws(NetlinkError) {
        try request(type: NetlinkWire.newRoute, flags: NetlinkWire.create | NetlinkWire.replace, payload: route.payload,
                    operation: "RTM_NEWROUTE \(route)")
    }

    /// Deletes `route` (RTM_DELROUTE). Returns false when there was none (ESRCH or ENOENT).
    @discardableResult
    public func deleteRoute(_ route: TableRoute) throws(NetlinkError) -> Bool {
        do {
            try request(type: NetlinkWire.deleteRoute, flags: 0, payload: route.payload, operation: "RTM_DELROUTE \(route)")
            return true
        } catch where error.errno == ESRCH || error.errno == ENOENT {
            return false
        }
    }
}
