import GatewayConfig
import Synchronization

/// The gateway's HTTP rate limiters, one per route ("namespace/name") and
/// kept across snapshots while the route's rateLimit stays the same, so a
/// config change elsewhere does not refill every client's bucket.
final class RateLimiters: Sendable {
    /// A route by namespace and name (no string built per request).
    private struct Route: Hashable {
        var namespace, name: String
    }
    private let limiters = Mutex<[Route: RequestRateLimiter]>([:])

    /// The route's limiter for `config`: the one it had, or a new one when
    /// the route is new or its rateLimit changed.
    func limiter(namespace: String, name: String, config: HTTPRateLimitConfig) -> RequestRateLimiter {
        let route = Route(namespace: namespace, name: name)
        return limiters.withLock { limiters in
            if let limiter = limiters[route], limiter.config == config { return limiter }
            let limiter = RequestRateLimiter(config)
            limiters[route] = limiter
            return limiter
        }
    }

    /// Drops the limiters of routes the snapshot no longer has.
    func keep(_ snapshot: GatewaySnapshot) {
        let routes = Set(snapshot.listeners.flatMap { $0.routes.map { Route(namespace: $0.namespace, name: $0.name) } })
        limiters.withLock { $0 = $0.filter { routes.contains($0.key) } }
    }
}
