import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

/// A tiny HTTP server for Prometheus: GET /metrics, and /healthz and /readyz for probes.
enum MetricsServer {
    struct BadAddress: Error, CustomStringConvertible {
        var address: String
        var description: String { "metrics address \(address) is not host:port" }
    }

    static func bind(_ address: String, registry: PrometheusCollectorRegistry, group: EventLoopGroup) async throws -> Channel {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw BadAddress(address: address)
        }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(registry: registry))
                }
            }
            .bind(host: host, port: port)
            .get()
    }
}

final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private var head: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            var headers = HTTPHeaders()
            var body = context.channel.allocator.buffer(capacity: 0)
            let status: HTTPResponseStatus
            if head.method == .GET, path == "/metrics" {
                status = .ok
                headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
                body.writeBytes(registry.emitToBuffer())
            } else if head.method == .GET, path == "/healthz" || path == "/readyz" {
                // Serving at all means the snapshot present at start was loaded.
                status = .ok
                headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
                body.writeString("ok\n")
            } else {
                status = .notFound
                headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
                body.writeString("only GET /metrics, /healthz and /readyz here\n")
            }
            headers.add(name: "Content-Length", value: String(body.readableBytes))
            if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            let keepAlive = head.isKeepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                if !keepAlive { context.close(promise: nil) }
            }
        }
    }
}
