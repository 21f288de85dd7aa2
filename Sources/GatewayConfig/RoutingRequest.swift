/// Header lookup the router needs; the proxy conforms NIO's HTTPHeaders to it.
public protocol RoutingHeaders {
    /// The header's value, repeated headers joined with "," (RFC 9110 field combination), nil when absent. `name` is lowercase.
    func value(forLowercasedName name: String) -> String?
}

/// What the router looks at in one HTTP request, as it arrived.
public struct RoutingRequest<Headers: RoutingHeaders> {
    public var method: String        // as sent, e.g. "GET"
    public var host: String?         // Host header (may carry a port, may be an IP, may be uppercase, may end with '.')
    public var target: String        // request-target, origin form "/path?query" (absolute form "http://h/p" also possible)
    public var headers: Headers

    public init(method: String, host: String?, target: String, headers: Headers) {
        self.method = method
        self.host = host
        self.target = target
        self.headers = headers
    }
}
