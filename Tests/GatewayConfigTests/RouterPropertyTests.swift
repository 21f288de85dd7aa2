import Foundation
import Testing
@testable import GatewayConfig

/// Random rule sets and requests: the index agrees with the linear oracle,
/// and no input crashes the router. Each test prints its seed; set
/// ROUTER_SEED to replay one.
@Suite struct RouterPropertyTests {
    private static func seed(_ test: String) -> UInt64 {
        let seed = ProcessInfo.processInfo.environment["ROUTER_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64.max)
        print("\(test): seed \(seed) (ROUTER_SEED=\(seed) replays it)")
        return seed
    }

    @Test func theIndexAgreesWithTheLinearScanOnRandomRulesAndRequests() {
        let seed = Self.seed("index vs linear")
        var random = SplitMix64(seed: seed)
        var disagreements: [String] = []
        for round in 0..<300 {
            let config = Generator.listener(&random)
            for precedence in [HostnamePrecedence.afterMatchCriteria, .first] {
                let router = ListenerRouter(listener: config, hostnamePrecedence: precedence)
                let oracle = LinearRouter(listener: config, hostnamePrecedence: precedence)
                for _ in 0..<40 {
                    let request = Generator.request(&random)
                    let indexed = Self.identify(router.route(request)), linear = Self.identify(oracle.route(request))
                    if indexed != linear && disagreements.count < 5 {
                        disagreements.append("round \(round) \(precedence): \(request.method) \(request.host ?? "nil") \(request.target) "
                            + "\(request.headers.fields) -> index \(indexed), linear \(linear)\n\(config)")
                    }
                }
            }
        }
        #expect(disagreements.isEmpty, "seed \(seed):\n\(disagreements.joined(separator: "\n"))")
    }

    @Test func theIndexAgreesWithTheLinearScanOnTheBenchmarksThousandRules() {
        let seed = Self.seed("benchmark listener")
        var random = SplitMix64(seed: seed)
        let config = RouterBenchmark.listener(rules: 1000)
        let router = ListenerRouter(listener: config), oracle = LinearRouter(listener: config)
        var matched = 0
        for _ in 0..<2000 {
            let i = Int(random.next() % 1000)
            let route = i / RouterBenchmark.rulesPerRoute
            let host = ["svc\(route).example.com", "app.example.com", "shop.example.org", "SVC\(route).EXAMPLE.COM:80"][Int(random.next() % 4)]
            let path = ["/svc\(i)", "/svc\(i)/x", "/svc\(i)/api/v1", "/svc\(i)/health", "/svc\(i)/health/"][Int(random.next() % 5)]
            let headers = random.next() % 2 == 0 ? [("X-Tenant", "t\(i % 10)")] : []
            let request = request(path, host: host, method: random.next() % 4 == 0 ? "POST" : "GET", headers: headers)
            let indexed = Self.identify(router.route(request))
            #expect(indexed == Self.identify(oracle.route(request)), "seed \(seed): \(host) \(path) \(headers)")
            if indexed != "404" { matched += 1 }
        }
        #expect(matched > 200, "too few generated requests matched a rule to compare much (\(matched) of 2000)")
    }

    @Test func garbageRequestsNeverCrashAndAgreeWithTheLinearScan() {
        let seed = Self.seed("garbage")
        var random = SplitMix64(seed: seed)
        let config = listener(
            route("w", hostnames: ["*.example.com", "a.example.com"], rule(prefix("/a"), regex("/r/[a-z]*"), exact("/e"))),
            route("q", rule(anyPath(query: [value("q", "x"), value("r", ".*", regex: true)]),
                            anyPath(headers: [value("h", "[0-9]+", regex: true)]))),
            route("p", rule(prefix("/"))))
        let router = ListenerRouter(listener: config), oracle = LinearRouter(listener: config)
        let alphabet = Array("/?#&=%+.:[]@*aAzZ09-_~ \u{0}\u{7F}é💥".unicodeScalars)
        for _ in 0..<3000 {
            func garbage(_ maximum: Int) -> String {
                if random.next() % 8 == 0 {
                    // Invalid UTF-8, repaired as a String must be.
                    let bytes = (0..<Int(random.next() % UInt64(maximum + 1))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                    return String(decoding: bytes, as: UTF8.self)
                }
                var text = String.UnicodeScalarView()
                for _ in 0..<Int(random.next() % UInt64(maximum + 1)) { text.append(alphabet[Int(random.next() % UInt64(alphabet.count))]) }
                return String(text)
            }
            let host: String? = random.next() % 6 == 0 ? nil : garbage(24)
            let target = ["", "/", "http://", "http://[", "a://b@", "/?", "/a?q=x&r", "/%", "/a/"][Int(random.next() % 9)] + garbage(40)
            let request = RoutingRequest(method: garbage(6), host: host, target: target,
                                         headers: FieldListHeaders(fields: [("h", garbage(8)), (garbage(3), garbage(3))]))
            #expect(Self.identify(router.route(request)) == Self.identify(oracle.route(request)),
                    "seed \(seed): \(String(reflecting: host)) \(String(reflecting: target))")
        }
    }

    @Test func hugeRequestsAreRoutedWithoutCrashing() {
        let config = listener(
            route("deep", hostnames: ["*.example.com"], rule(prefix("/" + Array(repeating: "a", count: 50).joined(separator: "/")))),
            route("any", rule(prefix("/a"), regex("/b.*"))))
        let router = ListenerRouter(listener: config), oracle = LinearRouter(listener: config)
        let deepPath = "/" + Array(repeating: "a", count: 100_000).joined(separator: "/")
        let hugeHost = Array(repeating: "x", count: 50_000).joined(separator: ".") + ".example.com"
        let cases: [(String?, String, String)] = [
            (hugeHost, deepPath, "deep#0"),
            ("example.org", deepPath, "any#0"),
            (String(repeating: "X", count: 200_000), "/b" + String(repeating: "b", count: 100_000), "any#0"),
            (String(repeating: ".", count: 100_000), "/a?" + String(repeating: "q=1&", count: 50_000), "any#0"),
            (String(repeating: "[", count: 10_000), String(repeating: "/", count: 100_000), "404"),
        ]
        for (host, target, expected) in cases {
            let request = request(target, host: host)
            #expect(outcome(router.route(request)) == expected, "host of \(host?.count ?? 0), target of \(target.count)")
            #expect(outcome(oracle.route(request)) == expected, "linear: host of \(host?.count ?? 0), target of \(target.count)")
        }
    }

    @Test func theBenchmarkReportsEveryRuleCount() {
        let rows = RouterBenchmark.run(ruleCounts: [1, 10], lookups: 10)
        #expect(rows.map(\.rules) == [1, 10])
        #expect(rows.allSatisfy { $0.indexedNanoseconds > 0 && $0.linearNanoseconds > 0 })
    }

    /// "namespace/name#rule" or "404".
    private static func identify(_ decision: RoutingDecision) -> String {
        switch decision {
        case .matched(let rule): "\(rule.namespace)/\(rule.name)#\(rule.ruleIndex)"
        case .noMatch: "404"
        }
    }
}

/// Random listeners and requests drawn from small pools, so that they
/// collide often: shared paths, hostnames, headers and ties.
private enum Generator {
    static let hostnamePool = ["example.com", "a.example.com", "b.example.com", "x.a.example.com", "*.example.com", "*.a.example.com",
                            "*.com", "A.Example.com", "*.EXAMPLE.com", "a.example.com."]
    static let paths = ["/", "/a", "/a/", "/a/b", "/a/b/", "/ab", "/a/b/c", "/b", "/a//b", "//"]
    static let regexes = ["/a/.*", "/[a-z]+", "/a/b/?", ".*c", "/(a|b)/.*", "/a(["]
    static let requestHosts = ["example.com", "a.example.com", "A.EXAMPLE.COM", "x.a.example.com:8080", "y.x.a.example.com",
                               "b.example.com.", "c.com", "com", ".example.com", "[::1]:80", "10.0.0.1", "", "example.org"]
    static let requestPaths = ["/", "/a", "/a/", "/a/b", "/a/b/", "/ab", "/a/b/c", "/a/bc", "/b", "/a//b", "//", "", "/c", "*",
                               "http://a.example.com/a/b", "http://x.a.example.com", "/A"]

    static func pick<T>(_ values: [T], _ random: inout SplitMix64) -> T { values[Int(random.next() % UInt64(values.count))] }

    static func chance(_ percent: UInt64, _ random: inout SplitMix64) -> Bool { random.next() % 100 < percent }

    static func listener(_ random: inout SplitMix64) -> HTTPListenerConfig {
        let routes = (0..<Int(1 + random.next() % 6)).map { index -> HTTPRouteConfig in
            let hostnames = chance(40, &random) ? [] : (0..<Int(1 + random.next() % 3)).map { _ in pick(hostnamePool, &random) }
            let rules = (0..<Int(1 + random.next() % 4)).map { ruleIndex in
                HTTPRuleConfig(index: ruleIndex, matches: (0..<Int(random.next() % 3)).map { _ in match(&random) },
                               backends: [HTTPBackendConfig(name: "b", weight: 1, endpoints: ["10.0.0.1:80"])])
            }
            return HTTPRouteConfig(namespace: pick(["ns", "ns-a", "z"], &random), name: "r\(index)",
                                   createdAt: pick(["2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z", ""], &random),
                                   hostnames: hostnames, rules: rules)
        }
        return HTTPListenerConfig(address: "198.51.100.10", port: 80, routes: routes)
    }

    static func match(_ random: inout SplitMix64) -> HTTPRequestMatch {
        let path: HTTPPathMatchConfig? = switch random.next() % 5 {
        case 0: nil
        case 1: HTTPPathMatchConfig(type: "Exact", value: pick(paths, &random))
        case 2: HTTPPathMatchConfig(type: "RegularExpression", value: pick(regexes, &random))
        default: HTTPPathMatchConfig(type: "PathPrefix", value: pick(paths, &random))
        }
        let headers = (0..<Int(random.next() % 3)).map { _ in
            pick([value("x-a", "1"), value("x-a", "2"), value("x-b", "[0-9]+", regex: true), value("X-C", "v"), value("x-a", "1,2")], &random)
        }
        let query = (0..<Int(random.next() % 3)).map { _ in
            pick([value("q", "1"), value("Q", "1"), value("r", "a b"), value("s", "[a-z]*", regex: true)], &random)
        }
        return HTTPRequestMatch(path: path, headers: headers, queryParams: query, method: chance(30, &random) ? pick(["GET", "POST"], &random) : nil)
    }

    static func request(_ random: inout SplitMix64) -> RoutingRequest<FieldListHeaders> {
        var target = pick(requestPaths, &random)
        if chance(50, &random) {
            target += "?" + (0..<Int(1 + random.next() % 3)).map { _ in
                pick(["q=1", "q=2", "Q=1", "r=a+b", "r=a%20b", "s=abc", "s=AB", "%71=1", "q", "r="], &random)
            }.joined(separator: "&")
        }
        let headers = (0..<Int(random.next() % 4)).map { _ in
            pick([("x-a", "1"), ("X-A", "2"), ("x-b", "42"), ("x-b", "x"), ("x-c", "v"), ("x-d", "1")], &random)
        }
        let host = chance(10, &random) ? nil : pick(requestHosts, &random)
        return RoutingRequest(method: pick(["GET", "POST", "get"], &random), host: host, target: target,
                              headers: FieldListHeaders(fields: headers))
    }
}
