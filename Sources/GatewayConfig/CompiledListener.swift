/// A listener's routes as the routers use them: hostnames parsed, regular
/// expressions compiled, routes ranked by age, every match with its
/// precedence. Built once per listener; both `ListenerRouter`'s index and
/// `LinearRouter` (the test oracle) read it.
struct CompiledListener: Sendable {
    var routes: [CompiledRoute] = []
    var problems: [RuleProblem] = []

    init(_ listener: HTTPListenerConfig) {
        // Oldest first, then "namespace/name" (the Gateway API's tie-breaks);
        // for a snapshot the agent wrote, this is its own order.
        let ranked = listener.routes.enumerated().sorted { a, b in
            (a.element.createdAt, "\(a.element.namespace)/\(a.element.name)", a.offset)
                < (b.element.createdAt, "\(b.element.namespace)/\(b.element.name)", b.offset)
        }
        for (rank, (_, route)) in ranked.enumerated() {
            routes.append(compile(route, rank: rank))
        }
    }

    private mutating func compile(_ route: HTTPRouteConfig, rank: Int) -> CompiledRoute {
        var compiled = CompiledRoute(namespace: route.namespace, name: route.name, hostnames: HostPattern.patterns(route.hostnames))
        for (position, rule) in route.rules.enumerated() {
            let matchedRule = MatchedRule(namespace: route.namespace, name: route.name, ruleIndex: rule.index,
                                          accessLogHeaders: route.accessLogHeaders, backends: rule.backends,
                                          rateLimit: route.rateLimit)
            var problem = ProblemSink(namespace: route.namespace, name: route.name, ruleIndex: rule.index)
            var matches: [CompiledMatch] = []
            // A rule without matches takes every request, as one PathPrefix "/".
            let configured = rule.matches.isEmpty ? [HTTPRequestMatch()] : rule.matches
            for (matchPosition, match) in configured.enumerated() {
                let precedence = Precedence(routeRank: rank, rulePosition: position, matchPosition: matchPosition)
                if let compiledMatch = CompiledMatch(match, rule: matchedRule, precedence: precedence,
                                                     problem: { problem.report("matches[\(matchPosition)].\($0)") }) {
                    matches.append(compiledMatch)
                }
            }
            if matches.isEmpty {
                problem.report("no match of the rule can be used; the rule takes no request")
            }
            problems += problem.problems
            compiled.rules.append(CompiledRule(matchedRule: matchedRule, matches: matches))
        }
        return compiled
    }
}

/// One route: its hostnames and rules.
struct CompiledRoute: Sendable {
    var namespace: String
    var name: String
    /// nil: any host. Empty: the route named hostnames, none of which a request can carry.
    var hostnames: [HostPattern]?
    var rules: [CompiledRule] = []
}

struct CompiledRule: Sendable {
    var matchedRule: MatchedRule
    var matches: [CompiledMatch]
}

/// A route hostname.
enum HostPattern: Hashable, Sendable {
    /// "api.example.com".
    case exact(String)
    /// "*.example.com" as "example.com": one or more labels in front of it.
    case wildcard(suffix: String)

    /// Lowercased, without a trailing dot, duplicates dropped; nil for none (any host).
    static func patterns(_ hostnames: [String]) -> [HostPattern]? {
        guard !hostnames.isEmpty else { return nil }
        var patterns: [HostPattern] = []
        for hostname in hostnames {
            var name = Substring(hostname.lowercased())
            if name.hasSuffix(".") { name = name.dropLast() }
            let pattern: HostPattern
            if name.hasPrefix("*.") {
                guard name.count > 2 else { continue }
                pattern = .wildcard(suffix: String(name.dropFirst(2)))
            } else {
                guard !name.isEmpty else { continue }
                pattern = .exact(String(name))
            }
            if !patterns.contains(pattern) { patterns.append(pattern) }
        }
        return patterns
    }

    /// How specific the pattern is when it matches: any exact name beats any
    /// wildcard, a longer wildcard beats a shorter one, and every hostname
    /// beats a route without hostnames (0).
    var specificity: Int {
        switch self {
        case .exact: Self.exactSpecificity
        case .wildcard(let suffix): 1 + suffix.utf8.count
        }
    }

    static let exactSpecificity = Int.max
    static let anyHostSpecificity = 0
}

/// Where a match stands among the others, apart from its hostname. Higher
/// `pathRank`, method, header and query counts win; then lower route rank,
/// rule position and match position.
struct Precedence: Sendable {
    /// Exact: `Int.max`; PathPrefix: 1 + the prefix's length without its
    /// trailing '/'; RegularExpression: 0.
    var pathRank = 0
    var hasMethod = false
    var headerCount = 0
    var queryCount = 0
    var routeRank: Int
    var rulePosition: Int
    var matchPosition: Int

    /// Whether `self` wins over `other` on the match criteria alone (path,
    /// method, headers, query), before hostnames and ties are considered.
    func criteriaBeat(_ other: Precedence) -> Bool {
        (pathRank, hasMethod ? 1 : 0, headerCount, queryCount) > (other.pathRank, other.hasMethod ? 1 : 0, other.headerCount, other.queryCount)
    }

    func criteriaEqual(_ other: Precedence) -> Bool {
        (pathRank, hasMethod, headerCount, queryCount) == (other.pathRank, other.hasMethod, other.headerCount, other.queryCount)
    }

    /// Whether `self` wins the ties (older route, earlier rule, earlier match).
    func tieBeats(_ other: Precedence) -> Bool {
        (routeRank, rulePosition, matchPosition) < (other.routeRank, other.rulePosition, other.matchPosition)
    }

    /// The order of a bucket of matches that share a path rank and a hostname.
    func comesBefore(_ other: Precedence) -> Bool {
        criteriaBeat(other) || (criteriaEqual(other) && tieBeats(other))
    }
}

/// Collects one rule's problems.
private struct ProblemSink {
    let namespace: String
    let name: String
    let ruleIndex: Int
    var problems: [RuleProblem] = []

    mutating func report(_ message: String) {
        problems.append(RuleProblem(namespace: namespace, name: name, ruleIndex: ruleIndex, message: message))
    }
}
