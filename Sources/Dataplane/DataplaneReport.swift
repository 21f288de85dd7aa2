import CRouteletABI
import NetAddress

/// The actual data plane in readable terms (interface names, route types,
/// next hops with their interfaces): what `routelet dump` prints, as text
/// tables or JSON.
public struct DataplaneReport: Codable, Sendable, Equatable {
    public struct Interface: Codable, Sendable, Equatable {
        public var name: String
        public var ifindex: UInt32
        public var table: UInt32?
        /// The gateway stage runs there.
        public var gateway: Bool
        /// routelet's filter on it: "rl_router id 42 tag 0123…", or nil.
        public var filter: String?
    }

    public struct NextHopView: Codable, Sendable, Equatable {
        public var interface: String
        public var gateway: String?
        public var weight: UInt32
    }

    public struct Route: Codable, Sendable, Equatable {
        public var table: UInt32
        public var prefix: String
        public var id: UInt32
        public var type: String
        public var group: UInt32?
        public var nexthops: [NextHopView]
        public var packets: UInt64
        public var bytes: UInt64
    }

    /// One listener of the gateway stage, with its counters.
    public struct Listener: Codable, Sendable, Equatable {
        public var listener: String
        public var id: UInt32
        /// HTTP/HTTPS: handed to the local gateway, not load balanced.
        public var local: Bool
        public var snat: Bool
        public var maglevSize: UInt32
        /// Slots of its Maglev table in the kernel (0: none, new flows are dropped).
        public var tableSlots: Int
        public var idleTimeoutSeconds: UInt32
        public var counter: FlowCounter
        /// sourceRanges in the kernel: nil when every source is allowed.
        public var allow: [String]?
        public var deny: [String] = []
        /// rateLimit of new flows per client ("100/s, burst 200"), TCP/UDP.
        public var rateLimit: String?
        public var refusals: Refusals = .zero
        /// accessLog.headers captured in eBPF (TCP), as the kernel holds them.
        public var captureHeaders: [String]?
        public var capture: CaptureCounter?
    }

    /// One backend endpoint: its share of the Maglev tables, and the flows
    /// conntrack still sends it (a backend out of every table is draining).
    public struct Backend: Codable, Sendable, Equatable {
        public var id: UInt32
        public var endpoint: String
        public var snatAddress: String?
        public var slots: Int
        public var activeFlows: Int
        public var state: String
        public var counter: FlowCounter
    }

    public var abiVersion: UInt32
    public var interfaces: [Interface]
    public var routes: [Route]
    public var localAddresses: [String]
    public var reasons: [String: Counter]
    public var listeners: [Listener] = []
    public var backends: [Backend] = []
    /// Entries in rl_conntrack (two per NATed flow).
    public var conntrackEntries = 0
    /// Clients with a rateLimit bucket now, and the table's size (least recently used evicted past it).
    public var rateBuckets: Int?
    public var rateBucketCapacity = GatewayMaps.rateBucketCapacity
    /// The mark set on packets handed to the local gateway ("0x20000000/0x20000000").
    public var gatewayMark: String?
    /// routelet's policy rules and local routes for them (read by `routelet dump`).
    public var localDelivery: String?
    /// Whether the program captures header elements of TCP listeners (the
    /// capture ring is pinned); nil when not read.
    public var headerCapture: Bool?

    public init(state: DataplaneState, abiVersion: UInt32, names: [UInt32: String]) {
        func name(_ ifindex: UInt32) -> String { names[ifindex] ?? "#\(ifindex)" }
        self.abiVersion = abiVersion
        let ifindexes = Set(state.bindings.keys).union(state.attachments.keys).sorted()
        interfaces = ifindexes.map { ifindex in
            Interface(name: name(ifindex), ifindex: ifindex, table: state.bindings[ifindex].flatMap { $0 == 0 ? nil : $0 },
                      gateway: state.gatewayInterfaces.contains(ifindex),
                      filter: state.attachments[ifindex].map { attachment in
                          attachment.program.map { "\($0.name) id \(attachment.programID) tag \($0.tag)" } ?? "id \(attachment.programID)"
                      })
        }
        routes = state.routes.sorted { $0.key < $1.key }.map { key, entry in
            let counter = state.routeCounters[entry.id] ?? .zero
            var route = Route(table: key.table, prefix: key.prefix.description, id: entry.id, type: "", group: nil,
                              nexthops: [], packets: counter.packets, bytes: counter.bytes)
            switch entry.action {
            case .forward(let group):
                route.type = "Unicast"
                route.group = group
                route.nexthops = (state.groups[group] ?? []).map {
                    NextHopView(interface: name($0.ifindex), gateway: $0.gateway?.description, weight: $0.weight)
                }
            case .blackhole:
                route.type = "Blackhole"
            case .local:
                route.type = "Local"
            }
            return route
        }
        localAddresses = state.localAddresses.sorted().map(\.description)
        reasons = Dictionary(uniqueKeysWithValues: state.reasonCounters.map { ($0.key.description, $0.value) })
    }

    /// The report with the gateway stage's listeners, backends and the
    /// flows that `conntrack` (every entry, as read) still names.
    public func withGateway(_ gateway: GatewayState, conntrack: [ConntrackEntry], rateBuckets: Int? = nil) -> DataplaneReport {
        var report = self
        let ranges = Dictionary(grouping: gateway.sourceRanges, by: \.listenerID)
        report.listeners = gateway.listeners.sorted { $0.key < $1.key }.map { key, entry in
            let own = (ranges[entry.id] ?? []).sorted()
            return Listener(listener: key.description, id: entry.id, local: entry.local, snat: entry.snat, maglevSize: entry.maglevSize,
                            tableSlots: gateway.maglev[entry.id]?.slots?.count ?? 0, idleTimeoutSeconds: entry.idleTimeoutSeconds,
                            counter: gateway.listenerCounters[entry.id] ?? .zero,
                            allow: entry.allowList ? own.filter { $0.list == .allow }.map(\.prefix.description) : nil,
                            deny: own.filter { $0.list == .deny }.map(\.prefix.description),
                            rateLimit: entry.rateLimit?.description, refusals: gateway.refusals[entry.id] ?? .zero,
                            captureHeaders: entry.capture ? gateway.captureNames[entry.id]?.names ?? [] : nil,
                            capture: entry.capture ? gateway.captureCounters[entry.id] ?? .zero : nil)
        }
        report.rateBuckets = rateBuckets
        var slots: [UInt32: Int] = [:]
        for table in gateway.maglev.values { for id in table.slots ?? [] { slots[id, default: 0] += 1 } }
        var flows: [UInt32: Int] = [:]
        for entry in conntrack where !entry.isReply && !entry.isClosing { flows[entry.backendID, default: 0] += 1 }
        report.backends = gateway.backends.sorted { $0.key < $1.key }.map { id, entry in
            Backend(id: id, endpoint: entry.description, snatAddress: entry.snatAddress?.description, slots: slots[id] ?? 0,
                    activeFlows: flows[id] ?? 0, state: (slots[id] ?? 0) > 0 ? "serving" : "draining",
                    counter: gateway.backendCounters[id] ?? .zero)
        }
        report.conntrackEntries = conntrack.count
        return report
    }

    /// Text tables for a terminal.
    public func rendered() -> String {
        let capture = headerCapture.map {
            $0 ? "; header capture on" : "; header capture off (\(Dataplane.withoutCaptureReason))"
        } ?? ""
        var out = "routelet data plane (ABI \(abiVersion)\(capture))\n\nINTERFACES\n"
        out += Table(["NAME", "IFINDEX", "TABLE", "GATEWAY", "FILTER"], interfaces.map {
            [$0.name, "\($0.ifindex)", $0.table.map { "\($0)" } ?? "-", $0.gateway ? "yes" : "-", $0.filter ?? "(not attached)"]
        }).rendered()
        out += "\nROUTES\n"
        out += Table(["TABLE", "PREFIX", "TYPE", "NEXT HOPS", "ID", "PACKETS", "BYTES"], routes.map { route in
            let hops = route.nexthops.isEmpty && route.type == "Unicast"
                ? "(group \(route.group ?? 0) missing)"
                : route.nexthops.map { "\($0.gateway.map { "via \($0) " } ?? "")dev \($0.interface)\(route.nexthops.count > 1 ? " w\($0.weight)" : "")" }
                    .joined(separator: ", ")
            return ["\(route.table)", route.prefix, route.type, hops.isEmpty ? "-" : hops, "\(route.id)", "\(route.packets)", "\(route.bytes)"]
        }).rendered()
        out += "\nLOCAL ADDRESSES (always to the kernel)\n"
        out += localAddresses.isEmpty ? "(none)\n" : localAddresses.joined(separator: " ") + "\n"
        if !listeners.isEmpty || !backends.isEmpty {
            out += "\nGATEWAY LISTENERS\n"
            out += Table(["LISTENER", "ID", "SNAT", "MAGLEV", "IDLE", "PACKETS", "BYTES", "FLOWS"], listeners.map {
                $0.local
                    ? [$0.listener, "\($0.id)", "-", "(local gateway)", "-", "\($0.counter.packets)", "\($0.counter.bytes)", "\($0.counter.flows)"]
                    : [$0.listener, "\($0.id)", $0.snat ? "yes" : "no", $0.tableSlots == 0 ? "(none: drops new flows)" : "\($0.tableSlots) slots",
                       "\($0.idleTimeoutSeconds)s", "\($0.counter.packets)", "\($0.counter.bytes)", "\($0.counter.flows)"]
            }).rendered()
            let filtered = listeners.filter { $0.allow != nil || !$0.deny.isEmpty || $0.rateLimit != nil }
            if !filtered.isEmpty {
                func shown(_ ranges: [String]) -> String {
                    ranges.count <= 3 ? ranges.joined(separator: ", ") : ranges.prefix(3).joined(separator: ", ") + " (+\(ranges.count - 3))"
                }
                out += "\nGATEWAY SOURCE RANGES AND RATE LIMITS (rate-limit table: \(rateBuckets.map { "\($0)" } ?? "?") of \(rateBucketCapacity) clients)\n"
                out += Table(["LISTENER", "ALLOW", "DENY", "RATE LIMIT", "REFUSED SOURCES", "RATE-LIMITED FLOWS"], filtered.map {
                    [$0.listener, $0.allow.map(shown) ?? "(any)", $0.deny.isEmpty ? "-" : shown($0.deny),
                     $0.rateLimit ?? ($0.local ? "(gateway)" : "-"), "\($0.refusals.sourcePackets) packets", "\($0.refusals.rateFlows)"]
                }).rendered()
            }
            let capturing = listeners.filter { $0.captureHeaders != nil }
            if !capturing.isEmpty {
                out += "\nGATEWAY HEADER CAPTURE (eBPF, first segment of each TCP flow)\n"
                out += Table(["LISTENER", "HEADERS", "RECORDS", "LOST (RING FULL)", "NOT HTTP"], capturing.map {
                    [$0.listener, $0.captureHeaders!.isEmpty ? "(names missing)" : $0.captureHeaders!.joined(separator: ", "),
                     "\($0.capture?.records ?? 0)", "\($0.capture?.lost ?? 0)", "\($0.capture?.unparsed ?? 0)"]
                }).rendered()
            }
            if listeners.contains(where: \.local) {
                out += "\nLOCAL DELIVERY (HTTP/HTTPS to routelet gateway)\nmark \(gatewayMark ?? "?"); rules and routes: \(localDelivery ?? "not read")\n"
            }
            out += "\nGATEWAY BACKENDS (conntrack: \(conntrackEntries) entries)\n"
            out += Table(["ID", "ENDPOINT", "SNAT FROM", "SLOTS", "STATE", "ACTIVE FLOWS", "PACKETS", "BYTES", "FLOWS"], backends.map {
                ["\($0.id)", $0.endpoint, $0.snatAddress ?? "-", "\($0.slots)", $0.state, "\($0.activeFlows)",
                 "\($0.counter.packets)", "\($0.counter.bytes)", "\($0.counter.flows)"]
            }).rendered()
        }
        out += "\nPACKETS BY REASON\n"
        out += Table(["REASON", "PACKETS", "BYTES"], Reason.allCases.compactMap { reason in
            guard let counter = reasons[reason.description], counter.packets > 0 else { return nil }
            return [reason.description, "\(counter.packets)", "\(counter.bytes)"]
        }).rendered()
        return out
    }
}

/// A plain text table with left-aligned columns.
public struct Table {
    var header: [String]
    var rows: [[String]]

    public init(_ header: [String], _ rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    public func rendered() -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0.count > column ? $0[column].count : 0 }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count + 2)
            }.joined()
        }.joined(separator: "\n") + "\n" + (rows.isEmpty ? "(none)\n" : "")
    }
}
