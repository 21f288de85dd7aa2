import Foundation
import JSONValue
import Logging
import Metrics
import Synchronization

/// A client of the Kubernetes API over libcurl: get, list, create, update,
/// patch, delete and status writes for any resource, and list+watch
/// streams (see ``KubeClient/changes(of:namespace:labelSelector:fieldSelector:)``).
/// Objects travel as ``JSONValue`` so that fields this client does not
/// know survive a read-modify-write; typed overloads decode with `Codable`.
public final class KubeClient: Sendable {
    public let config: KubeConfig
    public let userAgent: String
    /// The limit of one request that is not a watch.
    public let requestTimeout: Duration
    /// A watch that delivers nothing (not even a bookmark) for this long is
    /// restarted. The server sends bookmarks about once a minute.
    public let watchSilenceLimit: Duration
    /// Range of `timeoutSeconds` for watches; random within, so that many
    /// agents do not reconnect in step.
    public let watchTimeoutRange: ClosedRange<Int>
    let logger: Logger

    private let driver = CurlDriver.shared
    private let statistics = Mutex(RequestStatistics())

    public init(config: KubeConfig, userAgent: String = "routelet", requestTimeout: Duration = .seconds(30),
                watchSilenceLimit: Duration = .seconds(150), watchTimeoutRange: ClosedRange<Int> = 300...600,
                logger: Logger = Logger(label: "routelet.kubeclient")) {
        self.config = config
        self.userAgent = userAgent
        self.requestTimeout = requestTimeout
        self.watchSilenceLimit = watchSilenceLimit
        self.watchTimeoutRange = watchTimeoutRange
        self.logger = logger
    }

    /// Starts the one thread that performs every request, if it is not
    /// running yet. It lives in the network namespace of the thread that
    /// starts it: a benchmark that reaches a server inside a namespace calls
    /// this from within `NetworkNamespace.enter`. Otherwise the first
    /// request starts it.
    public static func startTransport() {
        _ = CurlDriver.shared
    }

    // MARK: Requests

    /// Sends one request and returns the body of a 2xx answer; any other
    /// answer, or none, throws a ``KubeError`` that names the request.
    @discardableResult
    public func send(_ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil,
                     contentType: String = "application/json", verb: String? = nil) async throws -> Data {
        let request = try makeRequest(method, path, query: query, body: body, contentType: contentType)
        let response: HTTPResponse
        let started = ContinuousClock.now
        do {
            response = try await driver.perform(request)
        } catch let error as KubeError {
            record(verb ?? method, outcome: error.kind == .cancelled ? "cancelled" : "error", duration: .now - started)
            throw error
        }
        record(verb ?? method, outcome: "\(response.status)", duration: .now - started)
        guard (200..<300).contains(response.status) else {
            throw KubeError(request: request.summary, status: response.status, body: response.body)
        }
        return response.body
    }

    func makeRequest(_ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil,
                     contentType: String = "application/json", streaming: Bool = false) throws -> HTTPRequest {
        var components = URLComponents()
        components.percentEncodedPath = path
        if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        var headers = ["Accept: application/json", "User-Agent: \(userAgent)"]
        if body != nil { headers.append("Content-Type: \(contentType)") }
        if let token = config.token {
            headers.append("Authorization: Bearer \(try token.current())")
        }
        let tls = TLSSettings(certificateAuthority: config.certificateAuthority, clientCertificate: config.clientCertificate,
                              clientKey: config.clientKey, insecureSkipVerify: config.insecureSkipTLSVerify)
        var server = config.server
        var connectTo: [String] = []
        if let name = config.tlsServerName, var url = URLComponents(string: server), let host = url.host {
            // tls-server-name: verify the certificate for `name` while
            // connecting to the server's address; curl verifies the URL's
            // host. A path prefix of the server URL is kept.
            let port = url.port ?? (url.scheme == "http" ? 80 : 443)
            let target = host.contains(":") ? "[\(host)]" : host
            connectTo = ["\(name):\(port):\(target):\(port)"]
            url.host = name
            url.port = port
            server = url.string ?? server
        }
        return HTTPRequest(method: method, url: server + (components.string ?? path), headers: headers, body: body, tls: tls,
                           timeout: streaming ? nil : requestTimeout, silenceLimit: streaming ? watchSilenceLimit : nil,
                           connectTo: connectTo)
    }

    // MARK: Objects

    public func get(_ resource: KubeResource, name: String, namespace: String? = nil, subresource: String? = nil) async throws -> JSONValue {
        try await decode(send("GET", resource.path(namespace: namespace, name: name, subresource: subresource)), "GET", resource)
    }

    public func get<T: Decodable>(_ type: T.Type, _ resource: KubeResource, name: String, namespace: String? = nil) async throws -> T {
        try decode(type, try await send("GET", resource.path(namespace: namespace, name: name)), "GET", resource)
    }

    /// Every object of a collection (pages of `pageSize` followed to the
    /// end), and the list's resourceVersion to watch from.
    public func list(_ resource: KubeResource, namespace: String? = nil, labelSelector: String? = nil,
                     fieldSelector: String? = nil, pageSize: Int = 500) async throws -> ListResponse {
        var items: [JSONValue] = []
        var continueToken: String?
        var resourceVersion = ""
        repeat {
            var query = [("limit", "\(pageSize)")]
            if let labelSelector { query.append(("labelSelector", labelSelector)) }
            if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
            if let continueToken { query.append(("continue", continueToken)) }
            let body = try await send("GET", resource.path(namespace: namespace), query: query, verb: "LIST")
            let page: ListResponse
            do {
                page = try ListResponse(body: body)
            } catch {
                throw KubeError(request: "GET \(resource.path(namespace: namespace))", kind: .decoding, message: "\(error)")
            }
            items += page.items
            if continueToken == nil { resourceVersion = page.resourceVersion }
            continueToken = page.continueToken
        } while continueToken != nil
        return ListResponse(items: items, resourceVersion: resourceVersion, continueToken: nil)
    }

    public func create(_ resource: KubeResource, _ object: JSONValue, namespace: String? = nil) async throws -> JSONValue {
        try await decode(send("POST", resource.path(namespace: namespace), body: object.jsonData()), "POST", resource)
    }

    /// PUT of the whole object (or of its `status` with `subresource: "status"`);
    /// `metadata.resourceVersion` in `object` makes it conditional (409 if stale).
    public func replace(_ resource: KubeResource, _ object: JSONValue, namespace: String? = nil, subresource: String? = nil) async throws -> JSONValue {
        guard let name = object.metadata("name") else {
            throw KubeError(request: "PUT \(resource.path(namespace: namespace))", kind: .decoding, message: "the object has no metadata.name")
        }
        let path = resource.path(namespace: namespace, name: name, subresource: subresource)
        return try await decode(send("PUT", path, body: object.jsonData()), "PUT", resource)
    }

    /// RFC 7386 merge patch.
    public func patch(_ resource: KubeResource, name: String, namespace: String? = nil, subresource: String? = nil,
                      merge: JSONValue) async throws -> JSONValue {
        let path = resource.path(namespace: namespace, name: name, subresource: subresource)
        return try await decode(send("PATCH", path, body: merge.jsonData(), contentType: "application/merge-patch+json"), "PATCH", resource)
    }

    public func delete(_ resource: KubeResource, name: String, namespace: String? = nil) async throws {
        try await send("DELETE", resource.path(namespace: namespace, name: name))
    }

    /// Read-modify-write of an object's status with optimistic concurrency:
    /// `change` edits the object as read (unknown fields kept) and returns
    /// whether anything changed; a 409 (someone wrote in between) reads it
    /// again and re-applies, after a short jittered pause. Returns the
    /// object as written, or nil when `change` found nothing to do.
    public func updateStatus(_ resource: KubeResource, name: String, namespace: String? = nil, attempts: Int = 5,
                             _ change: (inout JSONValue) throws -> Bool) async throws -> JSONValue? {
        var attempt = 0
        while true {
            attempt += 1
            var object = try await get(resource, name: name, namespace: namespace)
            guard try change(&object) else { return nil }
            do {
                return try await replace(resource, object, namespace: namespace, subresource: "status")
            } catch let error as KubeError where error.isConflict && attempt < attempts {
                try await Task.sleep(for: .milliseconds(Int.random(in: 10...100) * attempt))
            }
        }
    }

    // MARK: Typed

    /// Every object of a collection, decoded.
    public func list<T: Decodable>(_ type: T.Type, _ resource: KubeResource, namespace: String? = nil, labelSelector: String? = nil,
                                   fieldSelector: String? = nil) async throws -> [T] {
        let response = try await list(resource, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector)
        return try response.items.map { try decode(type, try $0.jsonData(), "LIST", resource) }
    }

    public func create<T: Codable>(_ object: T, _ resource: KubeResource, namespace: String? = nil) async throws -> T {
        try decode(T.self, try await create(resource, JSONValue(encoding: object), namespace: namespace).jsonData(), "POST", resource)
    }

    /// PUT of the whole object, or of its status with `subresource: "status"`.
    /// Fields `T` does not know are lost: to keep them, use the ``JSONValue`` forms.
    public func replace<T: Codable>(_ object: T, _ resource: KubeResource, namespace: String? = nil, subresource: String? = nil) async throws -> T {
        let written = try await replace(resource, JSONValue(encoding: object), namespace: namespace, subresource: subresource)
        return try decode(T.self, try written.jsonData(), "PUT", resource)
    }

    // MARK: Statistics

    /// Requests sent so far, by "VERB code" ("GET 200", "PUT 409", "LIST error",
    /// "WATCH 200" for a watch the server ended cleanly).
    public func requestCounts() -> [String: Int] {
        statistics.withLock { $0.counts }
    }

    /// Counts a request (and, unless it is a watch, whose length is the
    /// server's timeout, its latency) for `requestCounts()` and the metrics.
    func record(_ verb: String, outcome: String, duration: Duration? = nil) {
        statistics.withLock { $0.counts["\(verb) \(outcome)", default: 0] += 1 }
        Counter(label: "routelet_kube_requests_total", dimensions: [("verb", verb.lowercased()), ("code", outcome)]).increment()
        if let duration {
            Timer(label: "routelet_kube_request_duration_seconds", dimensions: [("verb", verb.lowercased())])
                .recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        }
    }

    // MARK: Decoding

    private func decode(_ body: Data, _ method: String, _ resource: KubeResource) throws -> JSONValue {
        do {
            return try JSONValue(jsonData: body)
        } catch {
            throw KubeError(request: "\(method) \(resource)", kind: .decoding, message: "the answer is not JSON: \(error)")
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ body: Data, _ method: String, _ resource: KubeResource) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch {
            throw KubeError(request: "\(method) \(resource)", kind: .decoding, message: "cannot decode \(T.self): \(error)")
        }
    }
}

struct RequestStatistics {
    var counts: [String: Int] = [:]
}
