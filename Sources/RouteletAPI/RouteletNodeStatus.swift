/// What the agent on a node reports about it: the data plane, each
/// RouteTable and GatewayRoute it programmed, and totals for `kubectl get`.
/// Nothing in it moves on every sync, so that it is written only on change.
public struct RouteletNodeStatus: Codable, Hashable, Sendable {
    /// The eBPF data plane as loaded on the node.
    public struct Dataplane: Codable, Hashable, Sendable {
        /// The ABI version of the loaded programs and pinned maps.
        public var abiVersion: UInt32
        /// Interfaces the programs are attached to, by name.
        public var attachedInterfaces: [String]

        public init(abiVersion: UInt32 = 0, attachedInterfaces: [String] = []) {
            self.abiVersion = abiVersion
            self.attachedInterfaces = attachedInterfaces
        }

        private enum CodingKeys: String, CodingKey {
            case abiVersion, attachedInterfaces
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            abiVersion = try container.decodeIntegerIfPresent(UInt32.self, forKey: .abiVersion) ?? 0
            attachedInterfaces = try container.decodeIfPresent([String].self, forKey: .attachedInterfaces) ?? []
        }
    }

    /// How many of a table's routes this node wants, has installed, and
    /// could not install (no usable candidate).
    public struct RouteCounts: Codable, Hashable, Sendable {
        public var desired: Int
        public var installed: Int
        public var down: Int

        public init(desired: Int = 0, installed: Int = 0, down: Int = 0) {
            self.desired = desired
            self.installed = installed
            self.down = down
        }

        private enum CodingKeys: String, CodingKey {
            case desired, installed, down
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            desired = try container.decodeIntegerIfPresent(Int.self, forKey: .desired) ?? 0
            installed = try container.decodeIntegerIfPresent(Int.self, forKey: .installed) ?? 0
            down = try container.decodeIntegerIfPresent(Int.self, forKey: .down) ?? 0
        }
    }

    /// One RouteTable as programmed on this node.
    public struct Table: Codable, Hashable, Sendable {
        /// The RouteTable's name.
        public var name: String
        /// The table generation this node programmed.
        public var observedGeneration: Int64?
        /// Interfaces of this node bound to the table.
        public var interfaces: [String]
        public var routes: RouteCounts
        /// `Programmed`, with the reason when it is not (e.g. `InterfaceNotFound`).
        public var conditions: [Condition]

        public init(
            name: String, observedGeneration: Int64? = nil, interfaces: [String] = [], routes: RouteCounts = RouteCounts(),
            conditions: [Condition] = []
        ) {
            self.name = name
            self.observedGeneration = observedGeneration
            self.interfaces = interfaces
            self.routes = routes
            self.conditions = conditions
        }

        private enum CodingKeys: String, CodingKey {
            case name, observedGeneration, interfaces, routes, conditions
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
            observedGeneration = try container.decodeIntegerIfPresent(Int64.self, forKey: .observedGeneration)
            interfaces = try container.decodeIfPresent([String].self, forKey: .interfaces) ?? []
            routes = try container.decodeIfPresent(RouteCounts.self, forKey: .routes) ?? RouteCounts()
            conditions = try container.decodeIfPresent([Condition].self, forKey: .conditions) ?? []
        }
    }

    /// How many of a GatewayRoute's backends have a ready endpoint (shared with GatewayRouteStatus).
    public typealias BackendCounts = RouteletAPI.BackendCounts

    /// One GatewayRoute as served on this node.
    public struct GatewayRoute: Codable, Hashable, Sendable {
        public var namespace: String
        public var name: String
        public var observedGeneration: Int64?
        public var backends: BackendCounts
        public var conditions: [Condition]

        public init(
            namespace: String, name: String, observedGeneration: Int64? = nil, backends: BackendCounts = BackendCounts(),
            conditions: [Condition] = []
        ) {
            self.namespace = namespace
            self.name = name
            self.observedGeneration = observedGeneration
            self.backends = backends
            self.conditions = conditions
        }

        private enum CodingKeys: String, CodingKey {
            case namespace, name, observedGeneration, backends, conditions
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            namespace = try container.decodeIfPresent(String.self, forKey: .namespace) ?? ""
            name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
            observedGeneration = try container.decodeIntegerIfPresent(Int64.self, forKey: .observedGeneration)
            backends = try container.decodeIfPresent(BackendCounts.self, forKey: .backends) ?? BackendCounts()
            conditions = try container.decodeIfPresent([Condition].self, forKey: .conditions) ?? []
        }
    }

    /// Totals over `tables` and `gatewayRoutes`, because a printer column's
    /// JSONPath cannot add numbers up.
    public struct Summary: Codable, Hashable, Sendable {
        /// The number of tables.
        public var tables: Int
        /// Installed routes over all tables.
        public var routesInstalled: Int
        /// The number of gateway routes.
        public var gatewayRoutes: Int

        public init(tables: Int = 0, routesInstalled: Int = 0, gatewayRoutes: Int = 0) {
            self.tables = tables
            self.routesInstalled = routesInstalled
            self.gatewayRoutes = gatewayRoutes
        }

        /// The totals of the given entries.
        public init(tables: [Table], gatewayRoutes: [GatewayRoute]) {
            self.init(
                tables: tables.count, routesInstalled: tables.reduce(0) { $0 + $1.routes.installed },
                gatewayRoutes: gatewayRoutes.count)
        }

        private enum CodingKeys: String, CodingKey {
            case tables, routesInstalled, gatewayRoutes
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            tables = try container.decodeIntegerIfPresent(Int.self, forKey: .tables) ?? 0
            routesInstalled = try container.decodeIntegerIfPresent(Int.self, forKey: .routesInstalled) ?? 0
            gatewayRoutes = try container.decodeIntegerIfPresent(Int.self, forKey: .gatewayRoutes) ?? 0
        }
    }

    /// The agent's version, e.g. "0.1.0".
    public var agentVersion: String?
    public var dataplane: Dataplane?
    /// RFC 3339 text: when the agent last started on existing pinned state.
    public var restoredAt: String?
    public var tables: [Table]
    public var gatewayRoutes: [GatewayRoute]
    /// Totals for the printer columns; kept in step by the initializer and
    /// ``updateSummary()``.
    public var summary: Summary
    /// `Ready`, and whatever else describes the node as a whole.
    public var conditions: [Condition]

    /// A status; `summary` is computed from `tables` and `gatewayRoutes` unless given.
    public init(
        agentVersion: String? = nil, dataplane: Dataplane? = nil, restoredAt: String? = nil, tables: [Table] = [],
        gatewayRoutes: [GatewayRoute] = [], summary: Summary? = nil, conditions: [Condition] = []
    ) {
        self.agentVersion = agentVersion
        self.dataplane = dataplane
        self.restoredAt = restoredAt
        self.tables = tables
        self.gatewayRoutes = gatewayRoutes
        self.summary = summary ?? Summary(tables: tables, gatewayRoutes: gatewayRoutes)
        self.conditions = conditions
    }

    private enum CodingKeys: String, CodingKey {
        case agentVersion, dataplane, restoredAt, tables, gatewayRoutes, summary, conditions
    }

    /// A status written without `summary` gets the one its entries imply.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        agentVersion = try container.decodeIfPresent(String.self, forKey: .agentVersion)
        dataplane = try container.decodeIfPresent(Dataplane.self, forKey: .dataplane)
        restoredAt = try container.decodeIfPresent(String.self, forKey: .restoredAt)
        tables = try container.decodeIfPresent([Table].self, forKey: .tables) ?? []
        gatewayRoutes = try container.decodeIfPresent([GatewayRoute].self, forKey: .gatewayRoutes) ?? []
        summary = try container.decodeIfPresent(Summary.self, forKey: .summary)
            ?? Summary(tables: tables, gatewayRoutes: gatewayRoutes)
        conditions = try container.decodeIfPresent([Condition].self, forKey: .conditions) ?? []
    }

    /// Recomputes `summary` after `tables` or `gatewayRoutes` changed.
    public mutating func updateSummary() {
        summary = Summary(tables: tables, gatewayRoutes: gatewayRoutes)
    }

    /// The node-wide condition of the given type, if reported.
    public func condition(_ type: String) -> Condition? {
        conditions.first { $0.type == type }
    }
}
