/// The plain way to route: test every match of every rule against the
/// request and keep the best by the full precedence. As slow as the rules
/// are many; it is the oracle the tests hold `ListenerRouter` to and the
/// baseline of `RouterBenchmark`. Its host and path tests are written apart
/// from the index's on purpose.
struct LinearRouter: Sendable {
    let routes: [CompiledRoute]
    let hostnamePrecedence: HostnamePrecedence

    init(listener: HTTPListenerConfig, hostnamePrecedence: HostnamePrecedence = .afterMatchCriteria) {
        routes = CompiledListener(listener).routes
        self.hostnamePrecedence = hostnamePrecedence
    }

    func route<H>(_ request: RoutingRequest<H>) -> RoutingDecision {
        RequestView.with(host: request.host, target: request.target) { view in
            var best: (match: CompiledMatch, host: Int)?
            for route in routes {
                guard let host = Self.hostSpecificity(route.hostnames, view.host) else { continue }
                for rule in route.rules {
                    for match in rule.matches where Self.pathHolds(match.path, view.path) && match.holdsBesidesPath(request, view) {
                        if let current = best, !beats(match, host, current.match, current.host) { continue }
                        best = (match, host)
                    }
                }
            }
            return best.map { .matched($0.match.rule) } ?? .noMatch
        }
    }

    private func beats(_ match: CompiledMatch, _ host: Int, _ other: CompiledMatch, _ otherHost: Int) -> Bool {
        let a = match.precedence, b = other.precedence
        switch hostnamePrecedence {
        case .afterMatchCriteria:
            if !a.criteriaEqual(b) { return a.criteriaBeat(b) }
            if host != otherHost { return host > otherHost }
        case .first:
            if host != otherHost { return host > otherHost }
            if !a.criteriaEqual(b) { return a.criteriaBeat(b) }
        }
        return a.tieBeats(b)
    }

    /// The specificity of the route's most specific hostname that matches, nil when none does.
    static func hostSpecificity(_ hostnames: [HostPattern]?, _ host: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let hostnames else { return HostPattern.anyHostSpecificity }
        var best: Int?
        for hostname in hostnames {
            let matches: Bool
            switch hostname {
            case .exact(let name):
                matches = bytesEqual(name, host)
            case .wildcard(let suffix):
                // One label or more, a dot, then the suffix.
                let suffixStart = host.count - suffix.utf8.count
                matches = suffixStart >= 2 && host[suffixStart - 1] == dot
                    && bytesEqual(suffix, UnsafeBufferPointer(rebasing: host[suffixStart...]))
            }
            if matches { best = max(best ?? hostname.specificity, hostname.specificity) }
        }
        return best
    }

    static func pathHolds(_ condition: PathCondition, _ path: UnsafeBufferPointer<UInt8>) -> Bool {
        switch condition {
        case .exact(let value):
            return bytesEqual(value, path)
        case .prefix(let trimmed, _):
            // The prefix, then the end of the path or a '/'.
            let count = trimmed.utf8.count
            return path.count >= count && bytesEqual(trimmed, UnsafeBufferPointer(rebasing: path[..<count]))
                && (path.count == count || path[count] == slash || count == 0)
        case .regularExpression(let regex):
            return regex.wholeMatches(String(decoding: path, as: UTF8.self))
        }
    }
}
