import Foundation
import GatewayConfig
import NetAddress
import RouteletAPI

/// compile for HTTP and HTTPS GatewayRoutes: the part of the gateway
/// snapshot one route contributes (its rules, its backends resolved to
/// ready endpoints), merged per listener address and port. Pure.
///
/// Several HTTP routes on one address and port share the listener (as
/// HTTPRoutes attached to one Gateway listener do); `routes` arrive oldest
/// first, which is the order the snapshot keeps them in, the precedence
/// tie-break of api.md.
enum HTTPGatewayCompiler {
    /// One route's rules as the gateway serves them, and what it found.
    struct RouteResult {
        var config: HTTPRouteConfig
        var problems: [Problem] = []
        var readyEndpoints = 0
        var totalEndpoints = 0
    }

    static func route(_ route: GatewayRoute, namespace: String, family: IPAddress.Family, endpoints: EndpointIndex) -> RouteResult {
        let spec = route.spec
        var result = RouteResult(config: HTTPRouteConfig(
            namespace: namespace, name: route.metadata.name ?? "", createdAt: route.metadata.creationTimestamp ?? "",
            hostnames: (spec.hostnames ?? []).map { $0.lowercased() },
            accessLogHeaders: spec.accessLog?.headers ?? [],
            rateLimit: spec.rateLimit.flatMap(GatewayCompiler.flowRateLimit)
                .map { HTTPRateLimitConfig(requestsPerSecond: Int($0.perSecond), burst: Int($0.burst)) }))
        for (ruleIndex, rule) in spec.rules.enumerated() {
            var backends: [HTTPBackendConfig] = []
            for (index, backend) in rule.backends.enumerated() {
                let resolved = GatewayCompiler.resolve(backend, index: index, namespace: namespace, proto: .tcp, family: family,
                                                       endpoints: endpoints)
                if let problem = resolved.problem {
                    result.problems.append(Problem(problem.reason, "rules[\(ruleIndex)].\(problem.message)"))
                }
                result.totalEndpoints += resolved.total
                result.readyEndpoints += resolved.ready.count
                backends.append(HTTPBackendConfig(
                    name: displayName(backend), weight: backend.effectiveWeight, resolved: resolved.problem == nil,
                    endpoints: resolved.ready.map { address, port in hostPort(address, Int(port)) }))
            }
            result.config.rules.append(HTTPRuleConfig(index: ruleIndex, matches: (rule.matches ?? []).map(match), backends: backends))
        }
        if result.readyEndpoints == 0 && !result.problems.contains(where: { $0.reason == .backendNotFound }) {
            result.problems.append(Problem(.noReadyEndpoints, "no backend has a ready endpoint"))
        }
        return result
    }

    /// A GatewayRoute match as the snapshot carries it: defaults applied,
    /// header names lowercased, methods uppercased.
    static func match(_ match: HTTPMatch) -> HTTPRequestMatch {
        HTTPRequestMatch(
            path: match.path.map { HTTPPathMatchConfig(type: $0.effectiveType.rawValue, value: $0.value) },
            headers: (match.headers ?? []).map { HTTPValueMatchConfig(name: $0.name.lowercased(), type: $0.effectiveType.rawValue, value: $0.value) },
            queryParams: (match.queryParams ?? []).map { HTTPValueMatchConfig(name: $0.name, type: $0.effectiveType.rawValue, value: $0.value) },
            method: match.method?.uppercased())
    }

    /// "service user-service:8080", "10.2.0.10,10.2.0.11:8080".
    static func displayName(_ backend: GatewayBackend) -> String {
        if let service = backend.service { return "service \(service.name):\(service.port)" }
        return "\((backend.addresses ?? []).joined(separator: ",")):\(backend.port ?? 0)"
    }

    /// 64-bit FNV-1a of `data`, hex: names a certificate file after its content.
    static func digest(_ data: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    static func hostPort(_ address: IPAddress, _ port: Int) -> String {
        address.family == .v6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}
