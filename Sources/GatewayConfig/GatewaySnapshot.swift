import Foundation

/// What `routelet gateway` serves on one node: the HTTP and HTTPS listeners
/// the agent compiled, with their routes in precedence order and their
/// backends resolved to endpoints. The agent writes it atomically (write +
/// rename) as readable JSON into a directory both processes share; the
/// gateway applies each new version without dropping a connection and keeps
/// serving the last one while the agent is away (docs/gateway.md).
public struct GatewaySnapshot: Codable, Hashable, Sendable {
    /// The file format; a gateway refuses a snapshot of a newer format.
    public var format: Int
    /// Increases with every snapshot the agent writes with new content.
    public var version: UInt64
    /// The node the snapshot was compiled for.
    public var node: String
    public var listeners: [HTTPListenerConfig]

    public static let currentFormat = 1
    /// The file name inside the shared directory.
    public static let fileName = "snapshot.json"

    public init(format: Int = Self.currentFormat, version: UInt64 = 0, node: String = "", listeners: [HTTPListenerConfig] = []) {
        self.format = format
        self.version = version
        self.node = node
        self.listeners = listeners
    }
}

/// One HTTP or HTTPS listener: an address and port, and every route on it.
public struct HTTPListenerConfig: Codable, Hashable, Sendable {
    /// An IPv4 or IPv6 address as text.
    public var address: String
    public var port: Int
    /// "HTTP" or "HTTPS".
    public var `protocol`: String
    /// HTTPS: the certificates to offer, chosen by SNI (the first is the default).
    public var certificates: [TLSCertificateConfig]?
    /// Every GatewayRoute attached to the listener, oldest first (the
    /// precedence tie-break), each with its rules in list order.
    public var routes: [HTTPRouteConfig]

    public init(address: String, port: Int, protocol: String = "HTTP", certificates: [TLSCertificateConfig]? = nil,
                routes: [HTTPRouteConfig] = []) {
        self.address = address
        self.port = port
        self.protocol = `protocol`
        self.certificates = certificates
        self.routes = routes
    }

    /// "198.51.100.10:80", "[2001:db8::10]:443".
    public var hostPort: String { address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)" }
}

/// A certificate and key, PEM files in the snapshot directory, and the host
/// names it is offered for (from the GatewayRoutes naming its Secret).
public struct TLSCertificateConfig: Codable, Hashable, Sendable {
    /// "namespace/secret name".
    public var secret: String
    /// Relative to the snapshot directory.
    public var certificateFile: String
    public var keyFile: String
    /// Host names (exact or `*.` wildcards) that select this certificate by SNI; empty = any.
    public var hostnames: [String]

    public init(secret: String, certificateFile: String, keyFile: String, hostnames: [String] = []) {
        self.secret = secret
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.hostnames = hostnames
    }
}

/// One GatewayRoute as the gateway needs it.
public struct HTTPRouteConfig: Codable, Hashable, Sendable {
    public var namespace: String
    public var name: String
    /// The route's creationTimestamp (RFC 3339), the first precedence tie-break.
    public var createdAt: String
    /// Exact names and `*.` wildcards, lowercase; empty = any host.
    public var hostnames: [String]
    public var rules: [HTTPRuleConfig]
    /// Request headers to put on each access-log line.
    public var accessLogHeaders: [String]
    /// Requests per client address beyond this rate get 429; nil for none.
    public var rateLimit: HTTPRateLimitConfig?

    public init(namespace: String, name: String, createdAt: String = "", hostnames: [String] = [], rules: [HTTPRuleConfig] = [],
                accessLogHeaders: [String] = [], rateLimit: HTTPRateLimitConfig? = nil) {
        self.namespace = namespace
        self.name = name
        self.createdAt = createdAt
        self.hostnames = hostnames
        self.rules = rules
        self.accessLogHeaders = accessLogHeaders
        self.rateLimit = rateLimit
    }
}

/// A token bucket per client address: `requestsPerSecond` refill, `burst` size.
public struct HTTPRateLimitConfig: Codable, Hashable, Sendable {
    public var requestsPerSecond: Int
    public var burst: Int

    public init(requestsPerSecond: Int, burst: Int) {
        self.requestsPerSecond = requestsPerSecond
        self.burst = burst
    }
}

/// One rule: the requests it takes (any of `matches`; none = every request)
/// and the backends it sends them to.
public struct HTTPRuleConfig: Codable, Hashable, Sendable {
    /// The rule's position in its route's `spec.rules`.
    public var index: Int
    public var matches: [HTTPRequestMatch]
    public var backends: [HTTPBackendConfig]

    public init(index: Int, matches: [HTTPRequestMatch] = [], backends: [HTTPBackendConfig] = []) {
        self.index = index
        self.matches = matches
        self.backends = backends
    }
}

/// Every field given must hold. Paths and values are as the GatewayRoute
/// wrote them (validated by the agent); header names are lowercased.
public struct HTTPRequestMatch: Codable, Hashable, Sendable {
    public var path: HTTPPathMatchConfig?
    public var headers: [HTTPValueMatchConfig]
    public var queryParams: [HTTPValueMatchConfig]
    /// Uppercase; nil = any method.
    public var method: String?

    public init(path: HTTPPathMatchConfig? = nil, headers: [HTTPValueMatchConfig] = [], queryParams: [HTTPValueMatchConfig] = [],
                method: String? = nil) {
        self.path = path
        self.headers = headers
        self.queryParams = queryParams
        self.method = method
    }
}

public struct HTTPPathMatchConfig: Codable, Hashable, Sendable {
    /// "Exact", "PathPrefix" or "RegularExpression".
    public var type: String
    public var value: String

    public init(type: String, value: String) {
        self.type = type
        self.value = value
    }
}

public struct HTTPValueMatchConfig: Codable, Hashable, Sendable {
    public var name: String
    /// "Exact" or "RegularExpression".
    public var type: String
    public var value: String

    public init(name: String, type: String = "Exact", value: String) {
        self.name = name
        self.type = type
        self.value = value
    }
}

/// One backend of a rule: its weight and the endpoints that take new
/// requests. `resolved == false` (no such Service or port) answers 500 for
/// its share of the weight; resolved with no endpoint takes no share.
public struct HTTPBackendConfig: Codable, Hashable, Sendable {
    /// How the route names it: "service user-service:8080" or "10.2.0.10:8080,...".
    public var name: String
    public var weight: Int
    public var resolved: Bool
    /// "address:port" ("[v6]:port"), ready endpoints only.
    public var endpoints: [String]

    public init(name: String, weight: Int, resolved: Bool = true, endpoints: [String] = []) {
        self.name = name
        self.weight = weight
        self.resolved = resolved
        self.endpoints = endpoints
    }
}

extension GatewaySnapshot {
    /// The snapshot in `directory`, nil when there is none yet.
    public static func load(from directory: URL) throws -> GatewaySnapshot? {
        let url = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data = try Data(contentsOf: url)
        let snapshot = try JSONDecoder().decode(GatewaySnapshot.self, from: data)
        guard snapshot.format <= currentFormat else {
            throw SnapshotError.newerFormat(snapshot.format, supported: currentFormat)
        }
        return snapshot
    }

    /// Writes the snapshot into `directory` atomically: a temporary file in
    /// the same directory, fsynced, then renamed over the old one, so a
    /// reader sees the old snapshot or the new one, never half of one.
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try Self.writeAtomically(try encoder.encode(self), to: directory.appendingPathComponent(Self.fileName))
    }

    /// `data` into `url` by write + fsync + rename; mode 0644 (0600 for keys).
    public static func writeAtomically(_ data: Data, to url: URL, mode: mode_t = 0o644) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SnapshotError.io("open \(temporary.path)", errno) }
        var ok = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let n = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
        let writeErrno = errno
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok else { unlink(temporary.path); throw SnapshotError.io("write \(temporary.path)", writeErrno) }
        guard rename(temporary.path, url.path) == 0 else {
            let e = errno
            unlink(temporary.path)
            throw SnapshotError.io("rename to \(url.path)", e)
        }
    }
}

public enum SnapshotError: Error, CustomStringConvertible, Equatable {
    case newerFormat(Int, supported: Int)
    case io(String, Int32)

    public var description: String {
        switch self {
        case .newerFormat(let format, let supported):
            "the gateway snapshot has format \(format); this routelet reads up to format \(supported) (upgrade the gateway first)"
        case .io(let what, let code):
            "\(what): \(String(cString: strerror(code)))"
        }
    }
}
