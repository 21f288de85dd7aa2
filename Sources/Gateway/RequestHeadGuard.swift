import NIOCore

/// Watches a client connection's raw bytes in front of the HTTP decoder:
/// the request line and headers must end within `maxHeadBytes` and within
/// `headerTimeout` of their first byte (of the accept for a new connection),
/// and a kept-alive connection may wait `idleTimeout` for its next request.
/// It answers 431 or 408 itself, as raw bytes below the HTTP handlers
/// (NIO's pipeline handler refuses a response to a request it never saw),
/// closes, and tells the proxy handler through a user event so that it logs
/// and counts the refusal.
final class RequestHeadGuard: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Violation: Sendable {
        case headTooLarge, headerTimeout, idleTimeout
    }

    private enum Phase {
        /// Between requests on a kept-alive connection.
        case idle
        /// Bytes of a request head arrive; `window` holds the last four to find CRLF CRLF.
        case head(bytes: Int, window: UInt32)
        /// The head is complete: body bytes and pipelined requests pass uncounted.
        case exchange
        /// A limit was passed: nothing more goes to the decoder.
        case violated
    }

    private let maxHeadBytes: Int
    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var phase = Phase.head(bytes: 0, window: 0)
    private var timer: DeadlineTimer?
    /// What the armed timer means when it fires.
    private var armedFor = Violation.headerTimeout
    private var context: ChannelHandlerContext?

    init(maxHeadBytes: Int, headerTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.maxHeadBytes = maxHeadBytes
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        timer = DeadlineTimer(eventLoop: context.eventLoop) { [weak self] in
            guard let self else { return }
            self.violate(self.armedFor)
        }
        if context.channel.isActive { arm(headerTimeout, .headerTimeout) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if timer?.isArmed == false, case .head = phase { arm(headerTimeout, .headerTimeout) }
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .violated:
            return
        case .exchange:
            context.fireChannelRead(data)
            return
        case .idle, .head:
            break
        }
        // A head that starts and ends within one read (the usual case) needs
        // no header deadline: it is armed only when a head stays incomplete.
        let startsHead: Bool
        if case .idle = phase {
            startsHead = true
            phase = .head(bytes: 0, window: 0)
        } else {
            startsHead = false
        }
        guard case .head(var count, var window) = phase else { return }
        let buffer = unwrapInboundIn(data)
        var complete = false
        buffer.withUnsafeReadableBytes { bytes in
            for byte in bytes {
                count += 1
                window = (window << 8) | UInt32(byte)
                if window == 0x0D0A_0D0A {
                    complete = true
                    return
                }
                if count > maxHeadBytes { return }
            }
        }
        if complete {
            timer?.disarm()
            phase = .exchange
        } else if count > maxHeadBytes {
            violate(.headTooLarge)
            return
        } else {
            if startsHead { arm(headerTimeout, .headerTimeout) }
            phase = .head(bytes: count, window: window)
        }
        context.fireChannelRead(data)
    }

    /// The proxy took a request head: no head limit until it finished the exchange.
    func requestStarted() {
        timer?.disarm()
        if case .violated = phase { return }
        phase = .exchange
    }

    /// The proxy finished an exchange and keeps the connection: the idle wait begins.
    func exchangeFinished() {
        if case .violated = phase { return }
        phase = .idle
        arm(idleTimeout, .idleTimeout)
    }

    private func arm(_ delay: TimeAmount, _ violation: Violation) {
        armedFor = violation
        timer?.arm(in: delay)
    }

    private func violate(_ violation: Violation) {
        guard let context else { return }
        timer?.cancel()
        phase = .violated
        let answer: (Int, String, String)
        switch violation {
        case .idleTimeout:
            context.close(promise: nil)
            return
        case .headTooLarge:
            answer = (431, "Request Header Fields Too Large", "request line and headers are larger than \(maxHeadBytes) bytes\n")
        case .headerTimeout:
            answer = (408, "Request Timeout", "the request head did not arrive within \(headerTimeout.nanoseconds / 1_000_000) ms\n")
        }
        let (status, reason, text) = answer
        let raw = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(text.utf8.count)\r\n"
            + "Connection: close\r\n\r\n\(text)"
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: raw))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(violation)
    }
}
