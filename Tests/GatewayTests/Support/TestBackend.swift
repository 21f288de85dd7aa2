import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A backend on 127.0.0.1 that answers with its own name, counts the
/// connections it accepted and remembers the request heads it saw.
/// Paths: /slow?ms=N waits first, /download?bytes=N streams N bytes,
/// /upload counts the body, /nocontent answers 204, /chunked answers in
/// chunks, /echo-headers
/// answers with the request's headers as "name: value" lines.
final class TestBackend: Sendable {
    let name: String
    let group: EventLoopGroup
    private let channel: Channel
    let connections = NIOLockedValueBox(0)
    let heads = NIOLockedValueBox<[HTTPRequestHead]>([])

    init(name: String, group: EventLoopGroup) async throws {
        self.name = name
        self.group = group
        let connections = self.connections
        let heads = self.heads
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                connections.withLockedValue { $0 += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(BackendHandler(name: name, heads: heads))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    var port: Int { channel.localAddress!.port! }
    var endpoint: String { "127.0.0.1:\(port)" }
    var acceptedConnections: Int { connections.withLockedValue { $0 } }

    func close() async {
        try? await channel.close()
    }
}

private final class BackendHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let name: String
    let heads: NIOLockedValueBox<[HTTPRequestHead]>
    var head: HTTPRequestHead?
    var received = 0
    var remainingDownload = 0
    var downloading = false

    init(name: String, heads: NIOLockedValueBox<[HTTPRequestHead]>) {
        self.name = name
        self.heads = heads
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            received = 0
            heads.withLockedValue { $0.append(head) }
        case .body(let buffer):
            received += buffer.readableBytes
        case .end:
            guard let head else { return }
            respond(context, head)
        }
    }

    private func query(_ head: HTTPRequestHead, _ key: String) -> Int? {
        guard let q = head.uri.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in q.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0] == key { return Int(kv[1]) }
        }
        return nil
    }

    private func respond(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
        switch path {
        case "/slow":
            let ms = query(head, "ms") ?? 1000
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(ms))) {
                self.simple(context, head, "\(self.name)\n")
            }
        case "/download":
            remainingDownload = query(head, "bytes") ?? 0
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: String(remainingDownload))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
            downloading = true
            pump(context)
        case "/upload":
            simple(context, head, "\(name) received \(received)\n")
        case "/nocontent":
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .noContent))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case "/chunked":
            var headers = HTTPHeaders()
            headers.add(name: "Transfer-Encoding", value: "chunked")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
            for piece in ["\(name) ", "in ", "chunks\n"] {
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: piece)))), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case "/echo-headers":
            let text = head.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n") + "\n"
            simple(context, head, text)
        default:
            simple(context, head, "\(name)\n")
        }
    }

    private func simple(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ text: String, status: HTTPResponseStatus = .ok) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: String(text.utf8.count))
        headers.add(name: "X-Backend", value: name)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func pump(_ context: ChannelHandlerContext) {
        while downloading, context.channel.isWritable, remainingDownload > 0 {
            let n = min(remainingDownload, 64 * 1024)
            remainingDownload -= n
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(repeating: UInt8(ascii: "d"), count: n)))), promise: nil)
        }
        context.flush()
        if downloading, remainingDownload == 0 {
            downloading = false
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if downloading { pump(context) }
        context.fireChannelWritabilityChanged()
    }
}

/// A backend that answers every request head with fixed bytes and then
/// closes: for close-delimited bodies and backends that misbehave.
final class RawBackend: Sendable {
    private let channel: Channel

    init(response: String, group: EventLoopGroup) async throws {
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RawResponder(response: response))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    var endpoint: String { "127.0.0.1:\(channel.localAddress!.port!)" }

    func close() async {
        try? await channel.close()
    }
}

private final class RawResponder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let response: String
    var seen = ""

    init(response: String) {
        self.response = response
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        seen += buffer.readString(length: buffer.readableBytes) ?? ""
        guard seen.contains("\r\n\r\n") else { return }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
