import Dataplane
import Foundation
import Reconciler

/// The agent's per-table results, as written to `<state-dir>/status.json`
/// and shown by `routelet dump`.
public struct StatusReport: Codable, Sendable, Equatable {
    public struct TableStatus: Codable, Sendable, Equatable {
        public var name: String
        public var generation: Int64?
        public var tableID: UInt32
        public var interfaces: [String]
        public var routes: Routes
        public var programmed: Bool
        public var problems: [String]
        /// Installed prefixes serving without some of their next hops, and
        /// why (absent when none).
        public var nextHopsLeftOut: [String]?
    }

    /// Routes in the spec; prefixes installed; prefixes left out (no usable route).
    public struct Routes: Codable, Sendable, Equatable {
        public var desired: Int
        public var installed: Int
        public var down: Int
    }

    /// One GatewayRoute on this node.
    public struct GatewayRouteStatus: Codable, Sendable, Equatable {
        public var namespace: String
        public var name: String
        public var generation: Int64?
        public var listener: String
        public var interfaces: [String]
        public var readyEndpoints: Int
        public var totalEndpoints: Int
        public var programmed: Bool
        public var problems: [String]
    }

    public var node: String
    public var tables: [TableStatus]
    public var gatewayRoutes: [GatewayRouteStatus]
    /// Input the agent refused: invalid manifests or objects.
    public var inputProblems: [String]

    public init(node: String, verdicts: [TableVerdict], gatewayVerdicts: [GatewayVerdict] = [], inputProblems: [String]) {
        self.node = node
        tables = verdicts.map {
            TableStatus(name: $0.name, generation: $0.generation, tableID: $0.tableID, interfaces: $0.interfaces,
                  routes: Routes(desired: $0.desiredRoutes, installed: $0.installedPrefixes, down: $0.downPrefixes),
                  programmed: $0.isProgrammed, problems: $0.problems.map(\.description),
                  nextHopsLeftOut: $0.degraded.isEmpty ? nil : $0.degraded.map(\.description))
        }
        gatewayRoutes = gatewayVerdicts.map {
            GatewayRouteStatus(namespace: $0.namespace, name: $0.name, generation: $0.generation, listener: $0.listener,
                               interfaces: $0.interfaces, readyEndpoints: $0.readyEndpoints, totalEndpoints: $0.totalEndpoints,
                               programmed: $0.isProgrammed, problems: $0.problems.map(\.description))
        }
        self.inputProblems = inputProblems
    }

    private enum CodingKeys: String, CodingKey {
        case node, tables, gatewayRoutes, inputProblems
    }

    /// A status.json written before GatewayRoutes existed has none.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        node = try container.decode(String.self, forKey: .node)
        tables = try container.decode([TableStatus].self, forKey: .tables)
        gatewayRoutes = try container.decodeIfPresent([GatewayRouteStatus].self, forKey: .gatewayRoutes) ?? []
        inputProblems = try container.decode([String].self, forKey: .inputProblems)
    }

    public static let fileName = "status.json"

    /// Writes atomically (temporary file, then rename).
    public func write(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: "\(directory)/\(Self.fileName)"), options: .atomic)
    }

    public static func read(from directory: String) -> StatusReport? {
        guard let data = FileManager.default.contents(atPath: "\(directory)/\(fileName)") else { return nil }
        return try? JSONDecoder().decode(StatusReport.self, from: data)
    }

    /// Text for a terminal.
    public func rendered() -> String {
        var out = "TABLES on \(node) (agent status)\n"
        let rows = tables.map { table in
            [table.name, "\(table.tableID)", table.interfaces.joined(separator: ","), "\(table.routes.desired)",
             "\(table.routes.installed)", "\(table.routes.down)", table.programmed ? "True" : "False", table.problems.first ?? ""]
        }
        out += Table(["NAME", "ID", "INTERFACES", "ROUTES", "PREFIXES", "DOWN", "PROGRAMMED", "PROBLEM"], rows).rendered()
        if !gatewayRoutes.isEmpty {
            out += "\nGATEWAY ROUTES on \(node) (agent status)\n"
            out += Table(["NAMESPACE", "NAME", "LISTENER", "INTERFACES", "ENDPOINTS", "PROGRAMMED", "PROBLEM"], gatewayRoutes.map { route in
                [route.namespace, route.name, route.listener, route.interfaces.joined(separator: ","),
                 "\(route.readyEndpoints)/\(route.totalEndpoints)", route.programmed ? "True" : "False", route.problems.first ?? ""]
            }).rendered()
        }
        if !inputProblems.isEmpty {
            out += "\nINVALID INPUT\n" + inputProblems.joined(separator: "\n") + "\n"
        }
        return out
    }
}
