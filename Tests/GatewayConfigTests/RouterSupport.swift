import Testing
@testable import GatewayConfig

// Building listeners and requests for the router tests, and checking tables
// of (request -> expected "route#rule" or "404").

func listener(_ routes: HTTPRouteConfig...) -> HTTPListenerConfig {
    HTTPListenerConfig(address: "198.51.100.10", port: 80, routes: routes)
}

/// A route whose rules take their index from their position.
func route(_ name: String, namespace: String = "gw", createdAt: String = "2025-01-01T00:00:00Z", hostnames: [String] = [],
           _ rules: HTTPRuleConfig...) -> HTTPRouteConfig {
    HTTPRouteConfig(namespace: namespace, name: name, createdAt: createdAt, hostnames: hostnames,
                    rules: rules.enumerated().map { index, rule in
                        var rule = rule
                        rule.index = index
                        return rule
                    })
}

/// A rule taking any of `matches` (none: every request), with one backend.
func rule(_ matches: HTTPRequestMatch...) -> HTTPRuleConfig {
    HTTPRuleConfig(index: 0, matches: matches, backends: [HTTPBackendConfig(name: "backend", weight: 1, endpoints: ["10.0.0.1:80"])])
}

func prefix(_ value: String, headers: [HTTPValueMatchConfig] = [], query: [HTTPValueMatchConfig] = [], method: String? = nil) -> HTTPRequestMatch {
    HTTPRequestMatch(path: .init(type: "PathPrefix", value: value), headers: headers, queryParams: query, method: method)
}

func exact(_ value: String, headers: [HTTPValueMatchConfig] = [], query: [HTTPValueMatchConfig] = [], method: String? = nil) -> HTTPRequestMatch {
    HTTPRequestMatch(path: .init(type: "Exact", value: value), headers: headers, queryParams: query, method: method)
}

func regex(_ value: String, headers: [HTTPValueMatchConfig] = [], query: [HTTPValueMatchConfig] = [], method: String? = nil) -> HTTPRequestMatch {
    HTTPRequestMatch(path: .init(type: "RegularExpression", value: value), headers: headers, queryParams: query, method: method)
}

/// A match without a path (a PathPrefix "/").
func anyPath(headers: [HTTPValueMatchConfig] = [], query: [HTTPValueMatchConfig] = [], method: String? = nil) -> HTTPRequestMatch {
    HTTPRequestMatch(headers: headers, queryParams: query, method: method)
}

/// A header or query condition; `regex: true` for RegularExpression.
func value(_ name: String, _ value: String, regex: Bool = false) -> HTTPValueMatchConfig {
    HTTPValueMatchConfig(name: name, type: regex ? "RegularExpression" : "Exact", value: value)
}

func request(_ target: String, host: String? = "example.com", method: String = "GET",
             headers: [(String, String)] = []) -> RoutingRequest<FieldListHeaders> {
    RoutingRequest(method: method, host: host, target: target, headers: FieldListHeaders(fields: headers))
}

/// "route#rule" for a match, "404" for none.
func outcome(_ decision: RoutingDecision) -> String {
    switch decision {
    case .matched(let rule): "\(rule.name)#\(rule.ruleIndex)"
    case .noMatch: "404"
    }
}

/// One row of a routing table.
struct RoutingCase {
    var description: String
    var request: RoutingRequest<FieldListHeaders>
    var expected: String

    init(_ description: String, _ request: RoutingRequest<FieldListHeaders>, _ expected: String) {
        self.description = description
        self.request = request
        self.expected = expected
    }
}

/// Routes every case through the index and through the linear oracle.
func check(_ config: HTTPListenerConfig, _ cases: [RoutingCase], hostnamePrecedence: HostnamePrecedence = .afterMatchCriteria,
           sourceLocation: SourceLocation = #_sourceLocation) {
    let router = ListenerRouter(listener: config, hostnamePrecedence: hostnamePrecedence)
    let oracle = LinearRouter(listener: config, hostnamePrecedence: hostnamePrecedence)
    for routingCase in cases {
        let request = routingCase.request
        let described = "\(routingCase.description): \(request.method) \(request.host ?? "(no host)") \(request.target) \(request.headers.fields)"
        #expect(outcome(router.route(request)) == routingCase.expected, "\(described)", sourceLocation: sourceLocation)
        #expect(outcome(oracle.route(request)) == routingCase.expected, "linear: \(described)", sourceLocation: sourceLocation)
    }
}
