import Dataplane
import DataplaneModel
import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization

/// What the loop tells the health and metrics endpoints.
public final class AgentHealth: Sendable {
    private struct State {
        var synced = false
        var lastPassOK = false
        var tableNames: [UInt32: String] = [:]
        var listenerOwners: [ListenerKey: String] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// A pass succeeded; `synced`: the source had been read in full.
    func passed(synced: Bool, tableNames: [UInt32: String], listenerOwners: [ListenerKey: String] = [:]) {
        state.withLock {
            $0.synced = $0.synced || synced
            $0.lastPassOK = true
            $0.tableNames = tableNames
            $0.listenerOwners = listenerOwners
        }
    }

    func failed() {
        state.withLock { $0.lastPassOK = false }
    }

    /// Ready: the source was read in full and the last pass programmed the
    /// data plane without error.
    public var isReady: Bool { state.withLock { $0.synced && $0.lastPassOK } }

    var tableNames: [UInt32: String] { state.withLock { $0.tableNames } }
    /// The GatewayRoute ("namespace/name") each listener serves.
    var listenerOwners: [ListenerKey: String] { state.withLock { $0.listenerOwners } }
}

/// `/metrics` (Prometheus text format), `/healthz` and `/readyz` on
/// `--metrics-addr`. Besides what swift-metrics records, each scrape reads
/// the data plane's own counters from the pinned maps: packets and bytes per
/// verdict reason, per table, and per route for at most `maxRouteSeries`
/// routes (the label cardinality bound, see docs/metrics.md).
public struct MetricsServer: Service {
    let host: String
    let port: Int
    let registry: PrometheusCollectorRegistry
    let health: AgentHealth
    let pinDirectory: String
    let maxRouteSeries: Int
    let logger: Logger

    public init(host: String, port: Int, registry: PrometheusCollectorRegistry, health: AgentHealth, pinDirectory: String,
                maxRouteSeries: Int = 1000, logger: Logger) {
        self.host = host
        self.port = port
        self.registry = registry
        self.health = health
        self.pinDirectory = pinDirectory
        self.maxRouteSeries = maxRouteSeries
        self.logger = logger
    }

    public func run() async throws {
        let router = Router()
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/readyz") { [health] _, _ -> Response in
            health.isReady
                ? Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
                : Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "not ready: first sync or pass pending\n")))
        }
        router.get("/metrics") { [self] _, _ -> Response in
            var text = registry.emitToString()
            text += dataplaneCounters()
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let application = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "routelet-metrics"),
                                      logger: logger)
        logger.info("metrics listening", metadata: ["address": "\(host):\(port)"])
        // Hummingbird drains on the group's graceful shutdown by itself
        // (scrapes are short); cancelling it instead logs errors.
        try await application.run()
    }

    /// The kernel's counters, read at scrape time, in Prometheus text format.
    func dataplaneCounters() -> String {
        guard let maps = try? RouterMaps.openPinned(directory: pinDirectory),
              let routes = try? maps.routes().routes, let counters = try? maps.routeCounters(),
              let reasons = try? maps.reasonCounters() else { return "" }
        let names = health.tableNames
        var out = ""
        func family(_ name: String, _ help: String, _ samples: [(labels: String, value: UInt64)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
            for sample in samples { out += "\(name){\(sample.labels)} \(sample.value)\n" }
        }
        let byReason = Reason.allCases.map { reason in (reason, reasons[reason] ?? DataplaneModel.Counter()) }
        family("routelet_dataplane_packets_total", "Packets seen by the eBPF router, by verdict reason.",
               byReason.map { ("reason=\"\($0.0)\"", $0.1.packets) })
        family("routelet_dataplane_bytes_total", "Bytes seen by the eBPF router, by verdict reason.",
               byReason.map { ("reason=\"\($0.0)\"", $0.1.bytes) })

        var perTable: [String: DataplaneModel.Counter] = [:]
        var perRoute: [(table: String, prefix: String, counter: DataplaneModel.Counter)] = []
        for (key, entry) in routes.sorted(by: { ($0.key.table, "\($0.key.prefix)") < ($1.key.table, "\($1.key.prefix)") }) {
            let table = names[key.table] ?? "table-\(key.table)"
            let counter = counters[entry.id] ?? DataplaneModel.Counter()
            perTable[table, default: DataplaneModel.Counter()].packets += counter.packets
            perTable[table, default: DataplaneModel.Counter()].bytes += counter.bytes
            if perRoute.count < maxRouteSeries { perRoute.append((table, "\(key.prefix)", counter)) }
        }
        let tables = perTable.sorted { $0.key < $1.key }
        family("routelet_table_packets_total", "Packets routed by each table's routes.",
               tables.map { ("table=\"\(escaped($0.key))\"", $0.value.packets) })
        family("routelet_table_bytes_total", "Bytes routed by each table's routes.",
               tables.map { ("table=\"\(escaped($0.key))\"", $0.value.bytes) })
        family("routelet_route_packets_total", "Packets per route (the first \(maxRouteSeries) routes by table and prefix).",
               perRoute.map { ("table=\"\(escaped($0.table))\",prefix=\"\($0.prefix)\"", $0.counter.packets) })
        family("routelet_route_bytes_total", "Bytes per route (the first \(maxRouteSeries) routes by table and prefix).",
               perRoute.map { ("table=\"\(escaped($0.table))\",prefix=\"\($0.prefix)\"", $0.counter.bytes) })
        out += "# HELP routelet_route_series_omitted Routes without their own series because of the bound.\n"
        out += "# TYPE routelet_route_series_omitted gauge\nroutelet_route_series_omitted \(max(0, routes.count - maxRouteSeries))\n"
        for metric in gatewayCounters(maps: maps) { family(metric.name, metric.help, metric.samples) }
        return out
    }

    /// The gateway stage's counters: per listener (with its GatewayRoute)
    /// and per backend endpoint, at most `maxRouteSeries` backends.
    func gatewayCounters(maps: RouterMaps) -> [(name: String, help: String, samples: [(labels: String, value: UInt64)])] {
        guard let gateway = try? GatewayMaps.openPinned(directory: pinDirectory, router: maps),
              let state = try? gateway.state(tables: false, counters: true), !state.listeners.isEmpty || !state.backends.isEmpty else { return [] }
        let owners = health.listenerOwners
        let listeners = state.listeners.sorted { $0.key < $1.key }.map { key, entry in
            (labels: "listener=\"\(key)\",route=\"\(escaped(owners[key] ?? ""))\"", counter: state.listenerCounters[entry.id] ?? .zero,
             refusals: state.refusals[entry.id] ?? .zero)
        }
        var metrics: [(name: String, help: String, samples: [(labels: String, value: UInt64)])] = [
            ("routelet_gateway_packets_total", "Packets through each L4 listener, both directions.",
             listeners.map { ($0.labels, $0.counter.packets) }),
            ("routelet_gateway_bytes_total", "Bytes through each L4 listener, both directions.",
             listeners.map { ($0.labels, $0.counter.bytes) }),
            ("routelet_gateway_connections_total", "New flows (TCP connections, UDP flows) through each L4 listener.",
             listeners.map { ($0.labels, $0.counter.flows) }),
            ("routelet_gateway_source_refused_packets_total",
             "Packets dropped in eBPF because the listener's sourceRanges refuse their source (every listener).",
             listeners.map { ($0.labels, $0.refusals.sourcePackets) }),
            ("routelet_gateway_rate_limited_flows_total",
             "New flows dropped in eBPF beyond the client's rateLimit (TCP/UDP listeners; HTTP counts 429 answers in the gateway).",
             listeners.map { ($0.labels, $0.refusals.rateFlows) }),
        ]
        let capturing = state.listeners.sorted { $0.key < $1.key }.filter { $0.value.capture }.map { key, entry in
            (labels: "listener=\"\(key)\",route=\"\(escaped(owners[key] ?? ""))\"", counter: state.captureCounters[entry.id] ?? .zero)
        }
        if !capturing.isEmpty {
            metrics += [
                ("routelet_gateway_capture_records_total",
                 "Requests whose header elements were read in eBPF (TCP listeners with accessLog.headers) and written to the ring.",
                 capturing.map { ($0.labels, $0.counter.records) }),
                ("routelet_gateway_capture_lost_total",
                 "Header-capture records lost because the ring was full (the agent did not keep up).",
                 capturing.map { ($0.labels, $0.counter.lost) }),
                ("routelet_gateway_capture_unparsed_total",
                 "First segments of TCP flows that were not an HTTP/1.x request line (TLS, other protocols, a line split over segments).",
                 capturing.map { ($0.labels, $0.counter.unparsed) }),
            ]
        }

        let backends = state.backends.sorted { $0.key < $1.key }.prefix(maxRouteSeries).map { id, entry in
            (labels: "backend=\"\(entry)\"", counter: state.backendCounters[id] ?? .zero)
        }
        metrics += [
            ("routelet_gateway_backend_packets_total", "Packets to and from each backend endpoint (the first \(maxRouteSeries)).",
             backends.map { ($0.labels, $0.counter.packets) }),
            ("routelet_gateway_backend_bytes_total", "Bytes to and from each backend endpoint (the first \(maxRouteSeries)).",
             backends.map { ($0.labels, $0.counter.bytes) }),
            ("routelet_gateway_backend_connections_total", "New flows to each backend endpoint (the first \(maxRouteSeries)).",
             backends.map { ($0.labels, $0.counter.flows) }),
        ]
        return metrics
    }

    private func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
