import Metrics
import Reconciler

/// The agent's metrics, through swift-metrics (the process bootstraps a
/// Prometheus backend; without one they cost nothing). Every name and label
/// is listed in docs/metrics.md.
enum AgentMetrics {
    static func pass(trigger: String, ok: Bool, duration: Duration) {
        Counter(label: "routelet_reconcile_passes_total", dimensions: [("trigger", trigger), ("result", ok ? "ok" : "error")]).increment()
        Timer(label: "routelet_reconcile_pass_duration_seconds").recordNanoseconds(duration.nanoseconds)
    }

    /// Kernel writes of one pass, by kind of operation.
    static func writes(_ tally: [String: Int], drift: Bool) {
        for (kind, count) in tally where count > 0 {
            Counter(label: "routelet_map_writes_total", dimensions: [("kind", kind)]).increment(by: count)
        }
        // A resync that had to write found the kernel changed behind the agent's back.
        if drift {
            Counter(label: "routelet_drift_repairs_total").increment(by: tally.values.reduce(0, +))
        }
    }

    static func statusWrite(_ object: String) {
        Counter(label: "routelet_status_writes_total", dimensions: [("object", object)]).increment()
    }

    static func installedRoutes(table: String, _ count: Int) {
        Gauge(label: "routelet_table_routes_installed", dimensions: [("table", table)]).record(count)
    }

    static func aggregatorLeader(_ leading: Bool) {
        Gauge(label: "routelet_aggregator_leader").record(leading ? 1 : 0)
    }
}

extension Operation {
    /// The metric label of this operation's kind.
    var metricKind: String {
        switch self {
        case .setGroup: "set_group"
        case .addLocalAddress: "add_local_address"
        case .setRoute: "set_route"
        case .setBackend: "set_backend"
        case .setMaglev: "set_maglev"
        case .setListener: "set_listener"
        case .addSourceRange: "add_source_range"
        case .removeSourceRange: "remove_source_range"
        case .setCaptureNames: "set_capture_names"
        case .removeCaptureNames: "remove_capture_names"
        case .setGatewayMark: "set_gateway_mark"
        case .setLocalDelivery: "set_local_delivery"
        case .bind: "bind"
        case .attach: "attach"
        case .detach: "detach"
        case .unbind: "unbind"
        case .removeRoute: "remove_route"
        case .removeListener: "remove_listener"
        case .removeMaglev: "remove_maglev"
        case .removeBackend: "remove_backend"
        case .removeGroup: "remove_group"
        case .removeCounter: "remove_counter"
        case .removeLocalAddress: "remove_local_address"
        case .removeLocalDelivery: "remove_local_delivery"
        }
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
