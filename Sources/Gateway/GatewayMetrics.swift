import NIOConcurrencyHelpers
import Prometheus

/// The gateway's Prometheus series. Endpoint labels exist only for the
/// endpoints of the current snapshot: the others are unregistered on apply,
/// so that churning endpoints do not grow the registry without bound.
final class GatewayMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let snapshotVersion: Gauge
    let snapshotErrors: Counter
    private let knownEndpoints = NIOLockedValueBox<Set<String>>([])
    private let upstreamErrorCounters = NIOLockedValueBox<[String: [String: Counter]]>([:])

    static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
    ]

    /// Why an upstream connection or exchange failed.
    enum UpstreamErrorKind: String {
        case refused, timeout, reset
    }

    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        snapshotVersion = registry.makeGauge(descriptor: .init(metricName: "routelet_gateway_snapshot_version", unitName: "",
                                                               helpText: "Version of the snapshot being served"))
        snapshotErrors = registry.makeCounter(descriptor: .init(metricName: "routelet_gateway_snapshot_errors_total", unitName: "",
                                                                helpText: "Snapshots that could not be read or applied"))
    }

    /// The series of one request's labels, looked up once: the registry's
    /// own lookup validates names and help text and builds label arrays,
    /// too much to pay on every request.
    private struct RequestSeries: Hashable {
        var namespace, route, rule: String
        var code: Int
    }
    private struct RouteSeries: Hashable {
        var namespace, route: String
    }
    private let requestCounters = NIOLockedValueBox<[RequestSeries: Counter]>([:])
    private let durationHistograms = NIOLockedValueBox<[RouteSeries: DurationHistogram]>([:])

    func request(namespace: String, route: String, rule: String, code: Int, duration: Duration?) {
        let series = RequestSeries(namespace: namespace, route: route, rule: rule, code: code)
        let counter = requestCounters.withLockedValue { counters in
            if let counter = counters[series] { return counter }
            let counter = registry.makeCounter(
                descriptor: .init(metricName: "routelet_gateway_http_requests_total", unitName: "", helpText: "HTTP requests answered"),
                labels: [("namespace", namespace), ("route", route), ("rule", rule), ("code", String(code))])
            counters[series] = counter
            return counter
        }
        counter.increment()
        guard let duration else { return }
        let routeSeries = RouteSeries(namespace: namespace, route: route)
        let histogram = durationHistograms.withLockedValue { histograms in
            if let histogram = histograms[routeSeries] { return histogram }
            let histogram = registry.makeDurationHistogram(
                descriptor: .init(metricName: "routelet_gateway_http_request_duration_seconds", unitName: "",
                                  helpText: "Time from the request head to the end of the response"),
                labels: [("namespace", namespace), ("route", route)], buckets: Self.durationBuckets)
            histograms[routeSeries] = histogram
            return histogram
        }
        histogram.record(duration)
    }

    func upstreamError(endpoint: String, kind: UpstreamErrorKind) {
        guard knownEndpoints.withLockedValue({ $0.contains(endpoint) }) else { return }
        let counter = registry.makeCounter(descriptor: .init(metricName: "routelet_gateway_http_upstream_errors_total", unitName: "",
                                                             helpText: "Failed upstream connections and exchanges"),
                                           labels: [("endpoint", endpoint), ("kind", kind.rawValue)])
        upstreamErrorCounters.withLockedValue { $0[endpoint, default: [:]][kind.rawValue] = counter }
        counter.increment()
    }

    /// The endpoints of the snapshot now served; the others' series go.
    func setEndpoints(_ endpoints: Set<String>) {
        knownEndpoints.withLockedValue { $0 = endpoints }
        let gone = upstreamErrorCounters.withLockedValue { counters -> [Counter] in
            let goneKeys = counters.keys.filter { !endpoints.contains($0) }
            return goneKeys.flatMap { counters.removeValue(forKey: $0).map { Array($0.values) } ?? [] }
        }
        for counter in gone { registry.unregisterCounter(counter) }
    }

    func activeConnections(listener: String) -> Gauge {
        registry.makeGauge(descriptor: .init(metricName: "routelet_gateway_http_active_connections", unitName: "",
                                             helpText: "Client connections open on a listener"),
                           labels: [("listener", listener)])
    }

    func removeActiveConnections(_ gauge: Gauge) {
        registry.unregisterGauge(gauge)
    }
}
