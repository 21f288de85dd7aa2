import Testing
@testable import GatewayConfig

/// `MatchedRule.pick`: smooth weighted round robin over endpoints and
/// unresolved backends.
@Suite struct BackendPickTests {
    private func matchedRule(_ backends: [HTTPBackendConfig]) -> MatchedRule {
        MatchedRule(namespace: "gw", name: "r", ruleIndex: 0, accessLogHeaders: [], backends: backends)
    }

    private func counts(_ rule: MatchedRule, picks: Int, excluding: Set<String> = []) -> [BackendPick: Int] {
        var counts: [BackendPick: Int] = [:]
        for _ in 0..<picks { counts[rule.pick(excluding: excluding), default: 0] += 1 }
        return counts
    }

    // HTTPRouteWeight: 70/30/0.
    @Test func weightsSplitPicksInProportionAndWeightZeroTakesNone() {
        let rule = matchedRule([
            HTTPBackendConfig(name: "v1", weight: 70, endpoints: ["10.0.0.1:80"]),
            HTTPBackendConfig(name: "v2", weight: 30, endpoints: ["10.0.0.2:80"]),
            HTTPBackendConfig(name: "v3", weight: 0, endpoints: ["10.0.0.3:80"]),
        ])
        let counts = counts(rule, picks: 500)
        let v1 = counts[.endpoint("10.0.0.1:80", backend: "v1")] ?? 0
        let v2 = counts[.endpoint("10.0.0.2:80", backend: "v2")] ?? 0
        #expect(abs(v1 - 350) <= 25 && abs(v2 - 150) <= 25, "70/30/0 over 500 picks gave \(counts)")
        #expect(v1 == 350 && v2 == 150, "smooth weighted round robin is exact over whole cycles: \(counts)")
        #expect(counts[.endpoint("10.0.0.3:80", backend: "v3")] == nil, "weight 0 took picks: \(counts)")
    }

    @Test func aBackendsWeightIsSharedEquallyByItsEndpoints() {
        let rule = matchedRule([
            HTTPBackendConfig(name: "svc", weight: 90, endpoints: ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]),
            HTTPBackendConfig(name: "static", weight: 10, endpoints: ["10.0.1.1:80"]),
        ])
        let counts = counts(rule, picks: 1000)
        for endpoint in ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"] {
            #expect(counts[.endpoint(endpoint, backend: "svc")] == 300, "\(endpoint): \(counts)")
        }
        #expect(counts[.endpoint("10.0.1.1:80", backend: "static")] == 100, "\(counts)")
    }

    @Test func unevenEndpointCountsStillGetExactShares() {
        let rule = matchedRule([
            HTTPBackendConfig(name: "three", weight: 1, endpoints: ["a:1", "b:1", "c:1"]),
            HTTPBackendConfig(name: "two", weight: 1, endpoints: ["d:1", "e:1"]),
            HTTPBackendConfig(name: "seven", weight: 1, endpoints: (1...7).map { "f\($0):1" }),
        ])
        // Shares 14, 21 and 6 (42 / count): a cycle is 126 picks.
        let counts = counts(rule, picks: 126 * 3)
        let perBackend = Dictionary(grouping: counts, by: { pick -> String in
            if case .endpoint(_, let backend) = pick.key { return backend }
            return "other"
        }).mapValues { $0.reduce(0) { $0 + $1.value } }
        #expect(perBackend == ["three": 126, "two": 126, "seven": 126], "\(counts)")
    }

    @Test func picksAreSmoothAsNginxsExample() {
        let rule = matchedRule([
            HTTPBackendConfig(name: "a", weight: 5, endpoints: ["a:80"]),
            HTTPBackendConfig(name: "b", weight: 1, endpoints: ["b:80"]),
            HTTPBackendConfig(name: "c", weight: 1, endpoints: ["c:80"]),
        ])
        let sequence = (0..<7).map { _ -> String in
            if case .endpoint(let endpoint, _) = rule.pick() { return String(endpoint.prefix(1)) }
            return "?"
        }
        #expect(sequence.joined() == "aabacaa")
    }

    @Test func anUnresolvedBackendAnswersForItsShare() {
        let rule = matchedRule([
            HTTPBackendConfig(name: "ok", weight: 75, endpoints: ["10.0.0.1:80", "10.0.0.2:80"]),
            HTTPBackendConfig(name: "service missing:80", weight: 25, resolved: false),
        ])
        let counts = counts(rule, picks: 400)
        #expect(counts[.unresolved(backend: "service missing:80")] == 100, "\(counts)")
        #expect(counts[.endpoint("10.0.0.1:80", backend: "ok")] == 150, "\(counts)")
    }

    @Test func excludedEndpointsAreSkippedAndNothingLeftIsNoEndpoint() {
        let rule = matchedRule([
            HTTPBackendConfig(name: "svc", weight: 1, endpoints: ["10.0.0.1:80", "10.0.0.2:80"]),
            HTTPBackendConfig(name: "other", weight: 1, endpoints: ["10.0.1.1:80"]),
            HTTPBackendConfig(name: "service missing:80", weight: 1, resolved: false),
        ])
        let counts = counts(rule, picks: 300, excluding: ["10.0.0.1:80"])
        #expect(counts[.endpoint("10.0.0.1:80", backend: "svc")] == nil, "an excluded endpoint was picked: \(counts)")
        #expect(counts[.unresolved(backend: "service missing:80")] == nil, "a retry fell on the unresolved share: \(counts)")
        #expect(counts[.endpoint("10.0.0.2:80", backend: "svc")] == 100 && counts[.endpoint("10.0.1.1:80", backend: "other")] == 200,
                "\(counts)")
        #expect(rule.pick(excluding: ["10.0.0.1:80", "10.0.0.2:80", "10.0.1.1:80"]) == .noEndpoint)
        // A retry chooses among every endpoint still there.
        #expect(Set((0..<6).map { _ in rule.pick(excluding: ["192.0.2.1:80"]) }).count == 3)
    }

    @Test func noReadyEndpointIsNoEndpoint() {
        #expect(matchedRule([]).pick() == .noEndpoint)
        #expect(matchedRule([HTTPBackendConfig(name: "empty", weight: 1, endpoints: [])]).pick() == .noEndpoint)
        #expect(matchedRule([HTTPBackendConfig(name: "drained", weight: 0, endpoints: ["10.0.0.1:80"]),
                             HTTPBackendConfig(name: "gone", weight: 0, resolved: false)]).pick() == .noEndpoint)
        let mixed = matchedRule([HTTPBackendConfig(name: "empty", weight: 50, endpoints: []),
                                 HTTPBackendConfig(name: "one", weight: 1, endpoints: ["10.0.0.9:80"])])
        #expect(Set((0..<10).map { _ in mixed.pick() }) == [.endpoint("10.0.0.9:80", backend: "one")],
                "a resolved backend without endpoints must take no share")
    }

    @Test func concurrentPicksKeepTheProportions() async {
        let rule = matchedRule([
            HTTPBackendConfig(name: "v1", weight: 7, endpoints: ["10.0.0.1:80"]),
            HTTPBackendConfig(name: "v2", weight: 3, endpoints: ["10.0.0.2:80"]),
        ])
        let perTask = 1000
        let all = await withTaskGroup(of: [BackendPick].self) { group in
            for _ in 0..<8 { group.addTask { (0..<perTask).map { _ in rule.pick() } } }
            var all: [BackendPick] = []
            for await picks in group { all += picks }
            return all
        }
        #expect(all.filter { $0 == .endpoint("10.0.0.1:80", backend: "v1") }.count == 8 * perTask * 7 / 10)
    }
}
