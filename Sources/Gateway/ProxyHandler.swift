import AccessLog
import Foundation
import GatewayConfig
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// What every client connection shares: configuration, the access log, the metrics.
struct ProxyServices: Sendable {
    var configuration: GatewayConfiguration
    var accessLog: AccessLogWriter
    var metrics: GatewayMetrics
    var rateLimiters: RateLimiters
    var logger: Logger
}

/// One request on a client connection, from its head to the end of its
/// response, and the upstream connection that carries it.
final class Exchange {
    let head: HTTPRequestHead
    let started = NIODeadline.now()
    let startedAt = Date()
    let host: String?
    let path: String
    /// The request says it has a body (Content-Length > 0 or Transfer-Encoding).
    let hasBody: Bool
    var rule: MatchedRule?
    var endpoint: String?
    var tried: Set<String> = []
    var upstream: UpstreamConnection?
    var reused = false
    var retried = false
    /// Request parts that arrived before the upstream connection.
    var pending: [HTTPServerRequestPart] = []
    var requestEnded = false
    var requestBodyBytes = 0
    var status: Int?
    var responseHeadSent = false
    var responseEnded = false
    var responseBodyBytes = 0
    /// The backend keeps the connection after this response.
    var upstreamReusable = true

    init(head: HTTPRequestHead) {
        self.head = head
        host = head.headers.first(name: "host")
        let target = head.uri
        path = target.firstIndex(of: "?").map { String(target[..<$0]) } ?? target
        let contentLength = head.headers.first(name: "content-length").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 0
        hasBody = head.headers.contains(name: "transfer-encoding") || contentLength > 0
    }
}

/// The router's view of NIO's headers.
/// A request's headers as the router reads them (also the fuzz target's).
public struct RequestHeaders: RoutingHeaders {
    public var headers: HTTPHeaders

    public init(headers: HTTPHeaders) {
        self.headers = headers
    }

    public func value(forLowercasedName name: String) -> String? {
        let values = headers[name]
        return values.isEmpty ? nil : values.joined(separator: ",")
    }
}

/// The proxy for one client connection: routes each request, picks an
/// endpoint, streams the request up and the response down with
/// backpressure both ways (autoRead is off on both channels: a side is read
/// only while the other can take what it gives), answers the errors itself,
/// logs and counts every request.
final class ProxyHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let listener: ServedListener
    private let services: ProxyServices
    private let pool: UpstreamPool
    private let headGuard: RequestHeadGuard
    private var context: ChannelHandlerContext?
    private var clientAddress = "unknown"
    private var exchange: Exchange?
    private var closeAfterResponse = false
    private var isClosed = false
    /// The request timeout runs from the end of the request (an upload of
    /// any length is not cut short by it) to the response head.
    private lazy var requestTimer = DeadlineTimer(eventLoop: pool.eventLoop) { [weak self] in
        guard let self, let exchange = self.exchange else { return }
        self.requestTimedOut(exchange)
    }

    init(listener: ServedListener, services: ProxyServices, pool: UpstreamPool, headGuard: RequestHeadGuard) {
        self.listener = listener
        self.services = services
        self.pool = pool
        self.headGuard = headGuard
    }

    // MARK: Client side

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        clientAddress = context.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    func channelActive(context: ChannelHandlerContext) {
        clientAddress = context.channel.remoteAddress?.ipAddress ?? "unknown"
        context.read()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isClosed = true
        requestTimer.cancel()
        if let exchange {
            if let upstream = exchange.upstream {
                exchange.upstream = nil
                upstream.close()
            }
            if exchange.status == nil || !exchange.responseEnded {
                // The client went away first: 499 as nginx logs it, unless a status was sent.
                exchange.status = exchange.responseHeadSent ? exchange.status : 499
            }
            finish(exchange)
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            headGuard.requestStarted()
            guard exchange == nil else {
                context.close(promise: nil)  // cannot happen behind HTTPServerPipelineHandler
                return
            }
            let exchange = Exchange(head: head)
            self.exchange = exchange
            begin(exchange)
        case .body(let buffer):
            guard let exchange else { return }
            exchange.requestBodyBytes += buffer.readableBytes
            if let upstream = exchange.upstream {
                upstream.write(.body(.byteBuffer(buffer)))
            } else if exchange.status == nil {
                exchange.pending.append(.body(buffer))
            }
        case .end(let trailers):
            guard let exchange else { return }
            exchange.requestEnded = true
            if let upstream = exchange.upstream {
                upstream.write(.end(trailers))
                upstream.flush()
                if !exchange.responseHeadSent { armRequestTimer() }
            } else if exchange.status == nil {
                exchange.pending.append(.end(trailers))
            }
            if exchange.responseEnded {
                finish(exchange)
                readClientIfWanted()
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.upstream?.flush()
        readClientIfWanted()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { readUpstreamIfWanted() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let parserError = error as? HTTPParserError {
            if parserError == .headerOverflow {
                refuse(431, "request line and headers are larger than \(services.configuration.maxHeaderBytes) bytes or \(services.configuration.maxHeaderCount) fields\n")
            } else {
                refuse(400, "malformed request: \(parserError)\n")
            }
            return
        }
        services.logger.debug("client connection error", metadata: ["client": "\(clientAddress)", "error": "\(error)"])
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let violation = event as? RequestHeadGuard.Violation else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // The guard answered and closes; what is left is to log and count it.
        closeAfterResponse = true
        let status: Int
        switch violation {
        case .headTooLarge: status = 431
        case .headerTimeout: status = 408
        case .idleTimeout: return
        }
        let exchange = self.exchange ?? Exchange(head: HTTPRequestHead(version: .http1_1, method: .RAW(value: "-"), uri: "-"))
        self.exchange = exchange
        exchange.status = status
        exchange.responseHeadSent = true
        exchange.responseEnded = true
        finish(exchange)
    }

    /// A request that cannot be read any further: the error, then close.
    private func refuse(_ status: Int, _ text: String) {
        guard let context else { return }
        if let exchange {
            if exchange.responseHeadSent {
                context.close(promise: nil)
                return
            }
            respond(exchange, status, text, close: true)
            return
        }
        let exchange = Exchange(head: HTTPRequestHead(version: .http1_1, method: .RAW(value: "-"), uri: "-"))
        self.exchange = exchange
        respond(exchange, status, text, close: true)
    }

    // MARK: Routing and choice

    private func begin(_ exchange: Exchange) {
        let head = exchange.head
        let hosts = head.headers["host"]
        if head.version.minor >= 1, hosts.count != 1 {
            respond(exchange, 400, hosts.isEmpty ? "an HTTP/1.1 request needs a Host header\n" : "more than one Host header\n", close: true)
            return
        }
        if let problem = framingProblem(head.headers) {
            respond(exchange, 400, problem, close: true)
            return
        }
        if let problem = pathProblem(exchange.path) {
            respond(exchange, 400, problem, close: true)
            return
        }
        let router = listener.router
        let request = RoutingRequest(method: head.method.rawValue, host: exchange.host, target: head.uri,
                                     headers: RequestHeaders(headers: head.headers))
        switch router.route(request) {
        case .noMatch:
            respond(exchange, 404, "no route for host \(exchange.host ?? "-") path \(exchange.path)\n")
        case .matched(let rule):
            exchange.rule = rule
            if let config = rule.rateLimit,
               case .limited(let retryAfter) = services.rateLimiters.limiter(namespace: rule.namespace, name: rule.name, config: config)
                .take(client: clientAddress) {
                respond(exchange, 429, "client \(clientAddress) is over the rate limit of route \(rule.namespace)/\(rule.name) (\(config.requestsPerSecond) requests per second, burst \(config.burst))\n",
                        extraHeaders: [("Retry-After", String(retryAfter))])
                return
            }
            dispatch(exchange, rule.pick())
        }
    }

    /// Paths are matched as sent (no normalisation), so a dot segment or an
    /// encoded '/' or '.' could walk a request out of the prefix that matched
    /// it (`/admin/../x` under PathPrefix `/admin`): refused, not rewritten.
    private func pathProblem(_ path: String) -> String? {
        // Without a '.' or a '%' there is nothing to find (most paths).
        guard path.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "%") }) else { return nil }
        let lowered = path.lowercased()
        for segment in ["/../", "/./"] where lowered.contains(segment) { return "the path must not contain \"\(segment)\"\n" }
        for suffix in ["/..", "/."] where lowered.hasSuffix(suffix) { return "the path must not end with \"\(suffix)\"\n" }
        for encoded in ["%2f", "%2e", "%5c"] where lowered.contains(encoded) { return "the path must not contain an encoded '/', '.' or '\\'\n" }
        return nil
    }

    /// Request smuggling: llhttp refuses most of it; what it lets through is refused here.
    private func framingProblem(_ headers: HTTPHeaders) -> String? {
        let lengths = headers["content-length"]
        let encodings = headers[canonicalForm: "transfer-encoding"]
        if !lengths.isEmpty, !encodings.isEmpty { return "Content-Length together with Transfer-Encoding\n" }
        if Set(lengths.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }).count > 1 {
            return "differing Content-Length headers\n"
        }
        if let last = encodings.last, last.lowercased() != "chunked" { return "Transfer-Encoding does not end in chunked\n" }
        return nil
    }

    private func dispatch(_ exchange: Exchange, _ pick: BackendPick) {
        guard let rule = exchange.rule else { return }
        var routeName: String { "\(rule.namespace)/\(rule.name) rule \(rule.ruleIndex)" }
        switch pick {
        case .unresolved(let backend):
            respond(exchange, 500, "backend \(backend) of route \(routeName) is not resolved (no such Service or port)\n")
        case .noEndpoint where exchange.tried.isEmpty:
            respond(exchange, 503, "no ready endpoint for route \(routeName)\n")
        case .noEndpoint:
            respond(exchange, 502, "no endpoint of route \(routeName) accepted a connection (tried \(exchange.tried.sorted().joined(separator: ", ")))\n")
        case .endpoint(let endpoint, _):
            connect(exchange, to: endpoint, allowReuse: true)
        }
    }

    private func connect(_ exchange: Exchange, to endpoint: String, allowReuse: Bool) {
        exchange.endpoint = endpoint
        pool.acquire(endpoint, allowReuse: allowReuse) { result in
            guard self.exchange === exchange, !self.isClosed else {
                if case .success(let (connection, _)) = result { self.pool.release(connection) }
                return
            }
            switch result {
            case .success(let (connection, reused)):
                self.attach(exchange, connection, reused: reused)
            case .failure(let error):
                let kind = Self.kind(of: error)
                self.services.metrics.upstreamError(endpoint: endpoint, kind: kind)
                self.services.logger.debug("upstream connect failed",
                                           metadata: ["endpoint": "\(endpoint)", "kind": "\(kind.rawValue)", "error": "\(error)"])
                exchange.tried.insert(endpoint)
                guard let rule = exchange.rule else { return }
                self.dispatch(exchange, rule.pick(excluding: exchange.tried))
            }
        }
    }

    static func kind(of error: Error) -> GatewayMetrics.UpstreamErrorKind {
        let underlying = (error as? UpstreamPool.ConnectError)?.underlying ?? error
        if case ChannelError.connectTimeout = underlying { return .timeout }
        if let io = underlying as? IOError, io.errnoCode == ECONNRESET { return .reset }
        if let connection = underlying as? NIOConnectionError, connection.connectionErrors.contains(where: {
            if case ChannelError.connectTimeout = $0.error { return true }
            return false
        }) {
            return .timeout
        }
        return .refused
    }

    private func attach(_ exchange: Exchange, _ upstream: UpstreamConnection, reused: Bool) {
        exchange.upstream = upstream
        exchange.reused = reused
        upstream.owner = self
        upstream.exchanges += 1
        upstream.write(.head(ProxyHeaders.upstreamRequestHead(exchange.head, client: clientAddress, proto: listener.proto)))
        let pending = exchange.pending
        exchange.pending = []
        for part in pending {
            switch part {
            case .body(let buffer): upstream.write(.body(.byteBuffer(buffer)))
            case .end(let trailers): upstream.write(.end(trailers))
            case .head: break
            }
        }
        upstream.flush()
        if exchange.requestEnded { armRequestTimer() }
        upstream.read()
        readClientIfWanted()
    }

    private func armRequestTimer() {
        requestTimer.arm(in: services.configuration.requestTimeout.timeAmount)
    }

    private func requestTimedOut(_ exchange: Exchange) {
        guard self.exchange === exchange, !exchange.responseHeadSent, let upstream = exchange.upstream else { return }
        exchange.upstream = nil
        upstream.close()
        services.metrics.upstreamError(endpoint: upstream.endpoint, kind: .timeout)
        respond(exchange, 504, "upstream \(upstream.endpoint) did not answer within \(services.configuration.requestTimeout)\n")
    }

    // MARK: Reads on demand

    /// The client is read only while the request's upstream can take more,
    /// or between requests.
    private func readClientIfWanted() {
        guard let context, !isClosed else { return }
        guard let exchange else {
            if !closeAfterResponse { context.read() }
            return
        }
        if !exchange.requestEnded, let upstream = exchange.upstream, upstream.isWritable {
            context.read()
        }
    }

    /// The backend is read only while the client can take more.
    private func readUpstreamIfWanted() {
        guard let context, let exchange, !exchange.responseEnded, let upstream = exchange.upstream else { return }
        if context.channel.isWritable { upstream.read() }
    }

    // MARK: Local responses

    /// An answer of the gateway's own: a short text. Closes the connection
    /// when asked, when the request's body is still unread, or when the
    /// client does not keep alive.
    private func respond(_ exchange: Exchange, _ status: Int, _ text: String, close: Bool = false,
                         extraHeaders: [(String, String)] = []) {
        guard let context else { return }
        requestTimer.disarm()
        exchange.pending = []
        exchange.status = status
        exchange.responseHeadSent = true
        let closing = close || (exchange.hasBody && !exchange.requestEnded) || !exchange.head.isKeepAlive || closeAfterResponse
        if closing { closeAfterResponse = true }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: String(text.utf8.count))
        headers.add(contentsOf: extraHeaders)
        let version: HTTPVersion = exchange.head.version == .http1_0 ? .http1_0 : .http1_1
        if closing {
            headers.add(name: "Connection", value: "close")
        } else if version == .http1_0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .init(statusCode: status), headers: headers))),
                      promise: nil)
        var body = context.channel.allocator.buffer(capacity: text.utf8.count)
        body.writeString(text)
        exchange.responseBodyBytes = body.readableBytes
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        endResponse(exchange, trailers: nil)
    }

    /// The response's end: the exchange is finished first when the request
    /// is complete too, since writing the end may deliver the next
    /// pipelined request at once.
    private func endResponse(_ exchange: Exchange, trailers: HTTPHeaders?) {
        guard let context else { return }
        exchange.responseEnded = true
        let finished = exchange.requestEnded || closeAfterResponse
        if finished { finish(exchange) }
        if closeAfterResponse {
            context.writeAndFlush(wrapOutboundOut(.end(trailers))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: nil)
            if finished { readClientIfWanted() }
        }
    }

    /// Logs and counts the exchange, gives its upstream connection back, and
    /// lets the connection wait for the next request.
    private func finish(_ exchange: Exchange) {
        guard self.exchange === exchange else { return }
        self.exchange = nil
        requestTimer.disarm()
        if let upstream = exchange.upstream {
            exchange.upstream = nil
            if exchange.responseEnded, exchange.requestEnded, exchange.upstreamReusable {
                pool.release(upstream)
            } else {
                upstream.close()
            }
        }
        let status = exchange.status ?? 499
        let elapsed = NIODeadline.now() - exchange.started
        let rule = exchange.rule
        var logged: [(String, String)] = []
        for name in rule?.accessLogHeaders ?? [] {
            let values = exchange.head.headers[name]
            if !values.isEmpty { logged.append((name, values.joined(separator: ","))) }
        }
        services.accessLog.log(line: AccessLogEntry(
            time: exchange.startedAt, listener: listener.hostPort, namespace: rule?.namespace, route: rule?.name,
            ruleIndex: rule?.ruleIndex, method: exchange.head.method.rawValue, host: exchange.host, path: exchange.path,
            status: status, backend: exchange.endpoint,
            durationSeconds: Double(elapsed.nanoseconds) / 1e9, bytesReceived: exchange.requestBodyBytes,
            bytesSent: exchange.responseBodyBytes, headers: logged).jsonBytes(newline: true))
        services.metrics.request(namespace: rule?.namespace ?? "", route: rule?.name ?? "", rule: rule.map { String($0.ruleIndex) } ?? "",
                                 code: status, duration: .nanoseconds(elapsed.nanoseconds))
        if !closeAfterResponse { headGuard.exchangeFinished() }
    }
}

// MARK: Upstream side

extension ProxyHandler: UpstreamConnectionOwner {
    func upstreamRead(_ part: HTTPClientResponsePart) {
        guard let context, let exchange, exchange.upstream != nil else { return }
        switch part {
        case .head(let head):
            if (100..<200).contains(head.status.code) {
                if head.status.code != 101, !exchange.responseHeadSent {
                    var informational = head
                    ProxyHeaders.removeHopByHop(&informational.headers)
                    context.write(wrapOutboundOut(.head(informational)), promise: nil)
                }
                return
            }
            requestTimer.disarm()
            exchange.status = Int(head.status.code)
            exchange.responseHeadSent = true
            exchange.upstreamReusable = head.isKeepAlive
            var keepAlive = exchange.head.isKeepAlive && !closeAfterResponse && (!exchange.hasBody || exchange.requestEnded)
            if exchange.head.version == .http1_0, !head.headers.contains(name: "content-length") { keepAlive = false }
            if !keepAlive { closeAfterResponse = true }
            context.write(wrapOutboundOut(.head(ProxyHeaders.clientResponseHead(head, requestVersion: exchange.head.version,
                                                                                keepAlive: keepAlive))), promise: nil)
        case .body(let buffer):
            exchange.responseBodyBytes += buffer.readableBytes
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        case .end(let trailers):
            guard exchange.responseHeadSent else { return }
            if !exchange.requestEnded { exchange.upstreamReusable = false }
            endResponse(exchange, trailers: trailers)
        }
    }

    func upstreamReadComplete() {
        context?.flush()
        readUpstreamIfWanted()
    }

    func upstreamWritabilityChanged() {
        readClientIfWanted()
    }

    func upstreamClosed(error: Error?) {
        guard let context, let exchange, let upstream = exchange.upstream else { return }
        exchange.upstream = nil
        if exchange.responseEnded { return }
        if exchange.responseHeadSent {
            // The body was cut short: so must the client's copy be.
            services.metrics.upstreamError(endpoint: upstream.endpoint, kind: .reset)
            context.close(promise: nil)
            return
        }
        requestTimer.disarm()
        if exchange.reused, !exchange.retried, !exchange.hasBody, exchange.requestBodyBytes == 0 {
            // A kept-alive connection the backend closed as we reused it: once more on a new one.
            exchange.retried = true
            if exchange.requestEnded { exchange.pending = [.end(nil)] }
            connect(exchange, to: upstream.endpoint, allowReuse: false)
            return
        }
        services.metrics.upstreamError(endpoint: upstream.endpoint, kind: .reset)
        respond(exchange, 502, "upstream \(upstream.endpoint) closed the connection before responding\n")
    }
}
