import DataplaneModel
import NetAddress
import Netlink

/// The local delivery of HTTP/HTTPS listener traffic between the planner's
/// terms (``LocalDeliverySettings``, ``LocalDeliveryState``) and rtnetlink
/// (``LocalDelivery``): what routelet's rules and routes amount to, and the
/// changes the planner asks for. routelet's own are those tagged with
/// ``LocalDeliverySettings/protocolNumber``.
public enum LocalDeliveryNetlink {
    /// What the kernel holds: routelet's rules, and its routes in `table`
    /// and in the tables its rules look up.
    public static func read(table: UInt32, socket: RouteNetlinkSocket) throws(NetlinkError) -> LocalDeliveryState {
        let protocolNumber = LocalDeliverySettings.protocolNumber
        let installed = try LocalDelivery.installed(protocolNumber: protocolNumber, tables: [table], socket: socket)
        if installed.isEmpty { return .absent }
        guard let policy = LocalDelivery(installed: installed, protocolNumber: protocolNumber) else {
            let found = installed.rules.map { "rule \($0)" } + installed.routes.map { "route \($0)" }
            return .inconsistent(found.joined(separator: "; "))
        }
        return .installed(LocalDeliverySettings(mark: policy.mark, mask: policy.mask, table: policy.table, priority: policy.priority),
                          families: policy.families)
    }

    /// The rtnetlink policy for `settings` and `families`.
    public static func policy(_ settings: LocalDeliverySettings, families: Set<IPAddress.Family>) -> LocalDelivery {
        LocalDelivery(mark: settings.mark, mask: settings.mask, table: settings.table, priority: settings.priority,
                      protocolNumber: LocalDeliverySettings.protocolNumber, families: families)
    }

    /// Installs exactly this policy (and removes routelet's other rules
    /// and routes); returns the rules and routes added or removed.
    public static func ensure(_ settings: LocalDeliverySettings, families: Set<IPAddress.Family>,
                              socket: RouteNetlinkSocket) throws(NetlinkError) -> Int {
        try policy(settings, families: families).ensure(socket: socket)
    }

    /// Removes every rule and route of routelet's; returns how many.
    public static func remove(table: UInt32, socket: RouteNetlinkSocket) throws(NetlinkError) -> Int {
        try LocalDelivery.remove(protocolNumber: LocalDeliverySettings.protocolNumber, tables: [table], socket: socket)
    }
}
