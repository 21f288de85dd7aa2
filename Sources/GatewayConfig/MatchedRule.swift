import Synchronization

/// A rule a request matched: who it belongs to, what to log, and the
/// weighted choice of where to send the request. One per compiled rule,
/// shared by every request that matches it.
public final class MatchedRule: Sendable {
    public let namespace: String
    public let name: String
    public let ruleIndex: Int
    public let accessLogHeaders: [String]
    /// The route's rateLimit (per client address, shared by its rules).
    public let rateLimit: HTTPRateLimitConfig?

    private let targets: [WeightedTarget]
    /// Smooth weighted round robin's current weight of each target.
    private let current: Mutex<[Int]>

    init(namespace: String, name: String, ruleIndex: Int, accessLogHeaders: [String], backends: [HTTPBackendConfig],
         rateLimit: HTTPRateLimitConfig? = nil) {
        self.namespace = namespace
        self.name = name
        self.ruleIndex = ruleIndex
        self.accessLogHeaders = accessLogHeaders
        self.rateLimit = rateLimit
        targets = WeightedTarget.targets(of: backends)
        current = Mutex(Array(repeating: 0, count: targets.count))
    }

    /// Smooth weighted round robin (nginx's algorithm) over the rule's targets, thread-safe (Synchronization.Mutex).
    /// Targets: each ready endpoint of a resolved backend, with the backend's weight shared equally by its endpoints
    /// (keep integer math exact enough, e.g. weight*1000/count); each unresolved backend as one target with its weight.
    /// Weight-0 backends and resolved backends with no endpoint take no share. `excluding`: endpoints that already failed
    /// for this request (the proxy retries another endpoint when a connect is refused).
    ///
    /// A retry (`excluding` not empty) chooses among the remaining endpoints
    /// only: the request already fell in an endpoint's share, so it is not
    /// turned into a 500 by an unresolved backend's share. As nginx does on
    /// its retries, the excluded targets' weights stay as they were.
    public func pick(excluding: Set<String> = []) -> BackendPick {
        guard !targets.isEmpty else { return .noEndpoint }
        return current.withLock { current in
            var total = 0
            var best = -1
            for index in targets.indices {
                let target = targets[index]
                if !excluding.isEmpty {
                    guard let endpoint = target.endpoint, !excluding.contains(endpoint) else { continue }
                }
                current[index] += target.weight
                total += target.weight
                if best < 0 || current[index] > current[best] { best = index }
            }
            guard best >= 0 else { return .noEndpoint }
            current[best] -= total
            return targets[best].pick
        }
    }
}

/// Where one request goes, as `MatchedRule.pick` chose it.
public enum BackendPick: Hashable, Sendable {
    case endpoint(String, backend: String)   // "address:port" as in the snapshot, and the backend's name
    case unresolved(backend: String)          // proxy answers 500
    case noEndpoint                           // nothing left (none ready, or all excluded): proxy answers 503
}

/// One share of a rule's weight: an endpoint of a resolved backend, or an
/// unresolved backend as a whole.
struct WeightedTarget: Sendable {
    let pick: BackendPick
    /// The endpoint's "address:port"; nil for an unresolved backend.
    let endpoint: String?
    let weight: Int

    /// Endpoints get `weight * scale / count`, unresolved backends
    /// `weight * scale`. `scale` is the least common multiple of the endpoint
    /// counts, so that every share is exact, unless it passes `maxScale`;
    /// then the shares are within 1/maxScale of exact.
    static func targets(of backends: [HTTPBackendConfig]) -> [WeightedTarget] {
        let maxScale = 100_000
        let taking = backends.filter { $0.weight > 0 && (!$0.resolved || !$0.endpoints.isEmpty) }
        var scale = 1
        for backend in taking where backend.resolved {
            scale = lcm(scale, backend.endpoints.count)
            if scale > maxScale { scale = maxScale; break }
        }
        var targets: [WeightedTarget] = []
        for backend in taking {
            let weight = min(backend.weight, 1_000_000)
            if !backend.resolved {
                targets.append(WeightedTarget(pick: .unresolved(backend: backend.name), endpoint: nil, weight: weight * scale))
                continue
            }
            let share = max(1, weight * scale / backend.endpoints.count)
            for endpoint in backend.endpoints {
                targets.append(WeightedTarget(pick: .endpoint(endpoint, backend: backend.name), endpoint: endpoint, weight: share))
            }
        }
        return targets
    }

    private static func lcm(_ a: Int, _ b: Int) -> Int {
        var (x, y) = (a, b)
        while y != 0 { (x, y) = (y, x % y) }
        return a / x * b
    }
}
