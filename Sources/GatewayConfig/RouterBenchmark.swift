import Foundation

/// Nanoseconds per lookup of `ListenerRouter` against a linear scan of the
/// same rules, for the bench tool. Timing is reported, never asserted.
public enum RouterBenchmark {
    /// For each count, a listener with that many rules (PathPrefix `/svc<i>`
    /// with an `x-tenant` header, `/svc<i>/api` with a method, an Exact
    /// `/svc<i>/health`; routes with an exact hostname, a wildcard or none),
    /// and `lookups` requests (nine in ten match some rule) through both.
    public static func run(ruleCounts: [Int], lookups: Int) -> [(rules: Int, indexedNanoseconds: Double, linearNanoseconds: Double)] {
        ruleCounts.map { count in
            var random = SplitMix64(seed: UInt64(count))
            let listener = listener(rules: count)
            let requests = (0..<1024).map { _ in request(rules: count, &random) }
            let indexed = ListenerRouter(listener: listener)
            let linear = LinearRouter(listener: listener)
            let lookups = max(lookups, 1)
            let indexedNanoseconds = measure(lookups: lookups) { indexed.route(requests[$0 & 1023]) }
            let linearNanoseconds = measure(lookups: lookups) { linear.route(requests[$0 & 1023]) }
            return (count, indexedNanoseconds, linearNanoseconds)
        }
    }

    static let rulesPerRoute = 8

    /// Rule i sits in route i / 8; route r has hostname "svc<r>.example.com"
    /// (r % 3 == 0), "*.example.com" (1) or none (2).
    static func listener(rules count: Int) -> HTTPListenerConfig {
        var routes: [HTTPRouteConfig] = []
        for first in stride(from: 0, to: count, by: rulesPerRoute) {
            let routeIndex = first / rulesPerRoute
            var rules: [HTTPRuleConfig] = []
            for i in first..<min(first + rulesPerRoute, count) {
                let match: HTTPRequestMatch
                switch i % 3 {
                case 0: match = HTTPRequestMatch(path: .init(type: "PathPrefix", value: "/svc\(i)"),
                                                 headers: [.init(name: "x-tenant", value: "t\(i % 10)")])
                case 1: match = HTTPRequestMatch(path: .init(type: "PathPrefix", value: "/svc\(i)/api"), method: "GET")
                default: match = HTTPRequestMatch(path: .init(type: "Exact", value: "/svc\(i)/health"))
                }
                rules.append(HTTPRuleConfig(index: i - first, matches: [match], backends: [
                    HTTPBackendConfig(name: "service svc\(i):80", weight: 1, endpoints: ["10.0.\(i / 250).\(i % 250):80"]),
                ]))
            }
            routes.append(HTTPRouteConfig(namespace: "bench", name: "route\(routeIndex)", createdAt: "2025-01-01T00:00:00Z",
                                          hostnames: hostnames(route: routeIndex), rules: rules))
        }
        return HTTPListenerConfig(address: "198.51.100.10", port: 80, routes: routes)
    }

    private static func hostnames(route: Int) -> [String] {
        switch route % 3 {
        case 0: ["svc\(route).example.com"]
        case 1: ["*.example.com"]
        default: []
        }
    }

    private static func request(rules count: Int, _ random: inout SplitMix64) -> RoutingRequest<FieldListHeaders> {
        let i = Int(random.next() % UInt64(max(count, 1)))
        let route = i / rulesPerRoute
        let host = route % 3 == 0 ? "svc\(route).example.com" : route % 3 == 1 ? "app\(i).example.com" : "shop.example.org"
        var headers = FieldListHeaders(fields: [("user-agent", "bench"), ("accept", "*/*")])
        let target: String
        switch i % 3 {
        case 0:
            target = "/svc\(i)/items/\(random.next() % 1000)?page=2"
            headers.fields.append(("x-tenant", "t\(i % 10)"))
        case 1: target = "/svc\(i)/api/v1/orders"
        default: target = "/svc\(i)/health"
        }
        if random.next() % 10 == 0 {
            return RoutingRequest(method: "GET", host: host, target: "/nothing/here", headers: headers)
        }
        return RoutingRequest(method: "GET", host: host, target: target, headers: headers)
    }

    private static func measure(lookups: Int, _ body: (Int) -> RoutingDecision) -> Double {
        var matched = 0
        for warmup in 0..<min(lookups, 1000) { if case .matched = body(warmup) { matched += 1 } }
        let start = DispatchTime.now().uptimeNanoseconds
        for lookup in 0..<lookups { if case .matched = body(lookup) { matched += 1 } }
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        keep(matched)
        return Double(elapsed) / Double(lookups)
    }

    /// Keeps the optimiser from dropping the lookups whose results are only counted.
    @inline(never)
    private static func keep(_ value: Int) {
        if value < 0 { fatalError("unreachable") }
    }
}
