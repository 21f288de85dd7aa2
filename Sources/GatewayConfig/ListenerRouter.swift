/// Chooses the rule that takes a request on one HTTP(S) listener, under the
/// Gateway API's HTTPRoute precedence, across every rule of every route on
/// the listener. Built once per listener and snapshot; `route` is safe to
/// call from any thread.
///
/// Precedence, highest first:
/// 1. Exact path > longest PathPrefix (whole path elements, by characters)
///    > RegularExpression; a match without a path is a PathPrefix "/".
/// 2. A method match > none.
/// 3. Most header matches, then most query parameter matches.
/// 4. The hostname the request matched: exact > longer wildcard > shorter
///    wildcard > route without hostnames.
/// 5. Oldest route, then "namespace/name", then rule order, then match order.
///
/// Hostnames choose which routes' rules are candidates at all; their
/// specificity ranks after the match criteria, not before them. The Gateway
/// API's prose ranks hostnames first, but its conformance suite requires
/// this: HTTPRouteMatchingAcrossRoutes expects `example.com/v2` to reach
/// the `*.com` route's PathPrefix `/v2` rather than the `example.com`
/// route's PathPrefix `/`, and `example.com/` with `version: two` to reach
/// the `*.com` route's header match. That is what the conformant
/// implementations do (the wildcard route's rules join the exact host's
/// virtual host). The hostname still decides between otherwise equal rules:
/// `a.example.com/` goes to the `a.example.com` route's `/` rather than to
/// the `*.example.com` route's `/`. `HostnamePrecedence.first` is the other
/// reading (a hostname's rules first, falling through to less specific
/// hostnames when none of them matches), kept for comparison.
///
/// The lookup is an index, not a scan: the request's host selects at most
/// one exact-hostname group, one wildcard group per label of the host, and
/// the group of routes without hostnames; in each, an exact-path dictionary,
/// a trie of path elements walked deepest first and the regular expressions,
/// every bucket sorted so that its first match that holds is its best.
public final class ListenerRouter: Sendable {
    /// Matches that were dropped (a regular expression that does not compile, ...), in route and rule order.
    public let problems: [RuleProblem]

    /// Exact hostname -> index into `groups`.
    private let exactHosts: ByteTable
    /// A wildcard's suffix ("*.example.com" as "example.com") -> index into `groups`.
    private let wildcardHosts: ByteTable
    private let groups: [PathIndex]
    private let anyHost: PathIndex?
    private let hostnamePrecedence: HostnamePrecedence

    /// Compiles the listener; a match whose regex does not compile is dropped and reported in `problems`.
    public convenience init(listener: HTTPListenerConfig) {
        self.init(listener: listener, hostnamePrecedence: .afterMatchCriteria)
    }

    init(listener: HTTPListenerConfig, hostnamePrecedence: HostnamePrecedence) {
        let compiled = CompiledListener(listener)
        var exactHosts = ByteTable()
        var wildcardHosts = ByteTable()
        var groups: [PathIndex.Builder] = []
        var anyHost: PathIndex.Builder?
        func group(_ table: inout ByteTable, _ key: String, specificity: Int) -> Int {
            if let index = table.value(key) { return index }
            table.set(key, to: groups.count)
            groups.append(PathIndex.Builder(specificity: specificity))
            return groups.count - 1
        }
        for route in compiled.routes {
            let matches = route.rules.flatMap(\.matches)
            guard let hostnames = route.hostnames else {
                if anyHost == nil { anyHost = PathIndex.Builder(specificity: HostPattern.anyHostSpecificity) }
                for match in matches { anyHost!.insert(match) }
                continue
            }
            for hostname in hostnames {
                let index = switch hostname {
                case .exact(let name): group(&exactHosts, name, specificity: hostname.specificity)
                case .wildcard(let suffix): group(&wildcardHosts, suffix, specificity: hostname.specificity)
                }
                for match in matches { groups[index].insert(match) }
            }
        }
        self.exactHosts = exactHosts
        self.wildcardHosts = wildcardHosts
        self.groups = groups.map { $0.build() }
        self.anyHost = anyHost?.build()
        self.hostnamePrecedence = hostnamePrecedence
        problems = compiled.problems
    }

    /// The rule that takes the request, or `.noMatch` (the proxy answers 404).
    public func route<H>(_ request: RoutingRequest<H>) -> RoutingDecision {
        RequestView.with(host: request.host, target: request.target) { view in
            var best: CompiledMatch?
            // Groups come most specific hostname first: a later group's match
            // wins only on the match criteria (hostnames rank after them), or
            // never once one matched (`HostnamePrecedence.first`).
            func consider(_ group: PathIndex) -> Bool {
                guard let match = group.best(request, view) else { return false }
                if let current = best, !match.precedence.criteriaBeat(current.precedence) { return false }
                best = match
                return hostnamePrecedence == .first
            }
            let host = view.host
            if !host.isEmpty {
                if let index = exactHosts.value(host), consider(groups[index]) { return decision(best) }
                if !wildcardHosts.isEmpty {
                    // Each suffix after a dot with at least one byte in front, longest
                    // first; none longer than the longest wildcard.
                    var dotIndex = max(1, host.count - wildcardHosts.longestKey - 1)
                    while let found = host[dotIndex...].firstIndex(of: dot) {
                        if let index = wildcardHosts.value(UnsafeBufferPointer(rebasing: host[(found + 1)...])), consider(groups[index]) {
                            return decision(best)
                        }
                        dotIndex = found + 1
                    }
                }
            }
            if let anyHost { _ = consider(anyHost) }
            return decision(best)
        }
    }

    private func decision(_ match: CompiledMatch?) -> RoutingDecision {
        match.map { .matched($0.rule) } ?? .noMatch
    }
}

/// What the router decided for one request.
public enum RoutingDecision: Sendable {
    case matched(MatchedRule)
    /// No rule takes the request: the proxy answers 404.
    case noMatch
}

/// A match the router could not use and dropped, with the rule it belongs to.
public struct RuleProblem: Hashable, Sendable {
    public var namespace: String
    public var name: String
    /// The rule's position in its route's `spec.rules`.
    public var ruleIndex: Int
    public var message: String
}

/// Where the matched hostname's specificity ranks (see `ListenerRouter`).
enum HostnamePrecedence: Sendable {
    /// After path, method, headers and query, before the route's age: what
    /// the Gateway API conformance suite checks.
    case afterMatchCriteria
    /// Before everything: the most specific hostname's rules, falling through
    /// to the next less specific hostname when none of them matches.
    case first
}
