import Foundation
import Synchronization

// TEMPORARY: a linear stand-in for the router that branch gw-routing writes,
// with the same public API, so that the proxy can be built and tested
// before it lands. Replaced wholesale by `git checkout gw-routing -- Sources/GatewayConfig`.

/// The request's headers as the router reads them.
public protocol RoutingHeaders {
    /// The value of the header, repeated headers joined with ","; nil when absent.
    func value(forLowercasedName name: String) -> String?
}

/// What the router needs of a request.
public struct RoutingRequest<Headers: RoutingHeaders> {
    public var method: String
    public var host: String?
    public var target: String
    public var headers: Headers

    public init(method: String, host: String?, target: String, headers: Headers) {
        self.method = method
        self.host = host
        self.target = target
        self.headers = headers
    }
}

/// A rule the router could not compile (an invalid regular expression).
public struct RuleProblem: Hashable, Sendable {
    public var namespace: String
    public var name: String
    public var ruleIndex: Int
    public var message: String
}

/// The routes of one listener, matched in precedence order.
public final class ListenerRouter: Sendable {
    private let routes: [CompiledRoute]
    public let problems: [RuleProblem]

    public init(listener: HTTPListenerConfig) {
        var problems: [RuleProblem] = []
        routes = listener.routes.map { route in
            CompiledRoute(hostnames: route.hostnames, rules: route.rules.map { rule in
                for match in rule.matches {
                    let patterns = [match.path].compactMap { $0 }.filter { $0.type == "RegularExpression" }.map(\.value)
                        + (match.headers + match.queryParams).filter { $0.type == "RegularExpression" }.map(\.value)
                    for pattern in patterns where (try? NSRegularExpression(pattern: pattern)) == nil {
                        problems.append(RuleProblem(namespace: route.namespace, name: route.name, ruleIndex: rule.index,
                                                    message: "invalid regular expression \(pattern)"))
                    }
                }
                return (rule.matches, MatchedRule(namespace: route.namespace, name: route.name, ruleIndex: rule.index,
                                                   accessLogHeaders: route.accessLogHeaders, backends: rule.backends))
            })
        }
        self.problems = problems
    }

    public func route<H>(_ request: RoutingRequest<H>) -> RoutingDecision {
        let host = request.host.map { hostWithoutPort($0).lowercased() }
        let (path, query) = splitTarget(request.target)
        for route in routes where route.hostnames.isEmpty || host.map({ hostMatches($0, route.hostnames) }) == true {
            for (matches, rule) in route.rules {
                if matches.isEmpty || matches.contains(where: { matchHolds($0, request, path: path, query: query) }) {
                    return .matched(rule)
                }
            }
        }
        return .noMatch
    }

    private struct CompiledRoute: Sendable {
        var hostnames: [String]
        var rules: [([HTTPRequestMatch], MatchedRule)]
    }
}

private func hostWithoutPort(_ host: String) -> String {
    if host.hasPrefix("[") { return String(host.prefix(while: { $0 != "]" }).dropFirst()) }
    return String(host.prefix(while: { $0 != ":" }))
}

private func hostMatches(_ host: String, _ names: [String]) -> Bool {
    names.contains { name in
        name.hasPrefix("*.") ? host.hasSuffix(name.dropFirst()) && host.count > name.count - 1 : host == name
    }
}

private func splitTarget(_ target: String) -> (String, [(String, String)]) {
    guard let q = target.firstIndex(of: "?") else { return (target, []) }
    let query = target[target.index(after: q)...].split(separator: "&").map { pair -> (String, String) in
        let parts = pair.split(separator: "=", maxSplits: 1)
        return (String(parts[0]).removingPercentEncoding ?? String(parts[0]),
                parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : "")
    }
    return (String(target[..<q]), query)
}

private func valueMatches(_ type: String, _ expected: String, _ actual: String) -> Bool {
    if type == "RegularExpression" {
        guard let regex = try? NSRegularExpression(pattern: "^(?:\(expected))$") else { return false }
        return regex.firstMatch(in: actual, range: NSRange(actual.startIndex..., in: actual)) != nil
    }
    return expected == actual
}

private func matchHolds<H>(_ match: HTTPRequestMatch, _ request: RoutingRequest<H>, path: String, query: [(String, String)]) -> Bool {
    if let method = match.method, method != request.method { return false }
    if let pathMatch = match.path {
        switch pathMatch.type {
        case "Exact": if path != pathMatch.value { return false }
        case "PathPrefix":
            let prefix = pathMatch.value.hasSuffix("/") && pathMatch.value != "/" ? String(pathMatch.value.dropLast()) : pathMatch.value
            if prefix != "/" && !(path == prefix || path.hasPrefix(prefix + "/")) { return false }
        default: if !valueMatches("RegularExpression", pathMatch.value, path) { return false }
        }
    }
    for header in match.headers {
        guard let value = request.headers.value(forLowercasedName: header.name.lowercased()),
              valueMatches(header.type, header.value, value) else { return false }
    }
    for param in match.queryParams {
        guard let value = query.first(where: { $0.0 == param.name })?.1, valueMatches(param.type, param.value, value) else { return false }
    }
    return true
}

/// The router's answer for one request.
public enum RoutingDecision: Sendable {
    case matched(MatchedRule)
    /// No rule takes the request: 404.
    case noMatch
}

/// A rule that took a request, and its weighted choice of backend.
public final class MatchedRule: Sendable {
    public let namespace: String
    public let name: String
    public let ruleIndex: Int
    public let accessLogHeaders: [String]
    private let backends: [HTTPBackendConfig]
    private let state: Mutex<PickState>

    private struct PickState {
        var current: [Int]
        var nextEndpoint: [Int]
    }

    init(namespace: String, name: String, ruleIndex: Int, accessLogHeaders: [String], backends: [HTTPBackendConfig]) {
        self.namespace = namespace
        self.name = name
        self.ruleIndex = ruleIndex
        self.accessLogHeaders = accessLogHeaders
        self.backends = backends
        state = Mutex(PickState(current: Array(repeating: 0, count: backends.count), nextEndpoint: Array(repeating: 0, count: backends.count)))
    }

    /// Smooth weighted round robin over the backends that can take a share;
    /// round robin over a backend's endpoints not in `excluding`.
    public func pick(excluding: Set<String> = []) -> BackendPick {
        state.withLock { state in
            let eligible = backends.indices.filter { i in
                backends[i].weight > 0 && (!backends[i].resolved || backends[i].endpoints.contains { !excluding.contains($0) })
            }
            guard !eligible.isEmpty else { return .noEndpoint }
            let total = eligible.reduce(0) { $0 + backends[$1].weight }
            var best = eligible[0]
            for i in eligible {
                state.current[i] += backends[i].weight
                if state.current[i] > state.current[best] { best = i }
            }
            state.current[best] -= total
            let backend = backends[best]
            guard backend.resolved else { return .unresolved(backend: backend.name) }
            let candidates = backend.endpoints.filter { !excluding.contains($0) }
            let endpoint = candidates[state.nextEndpoint[best] % candidates.count]
            state.nextEndpoint[best] &+= 1
            return .endpoint(endpoint, backend: backend.name)
        }
    }
}

/// The backend chosen for one request.
public enum BackendPick: Hashable, Sendable {
    case endpoint(String, backend: String)
    /// The backend names no Service or port: 500.
    case unresolved(backend: String)
    /// No backend has a ready endpoint: 503.
    case noEndpoint
}
