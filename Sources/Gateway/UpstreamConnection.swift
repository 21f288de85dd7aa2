import NIOCore
import NIOHTTP1

/// What an upstream connection tells the exchange that holds it.
protocol UpstreamConnectionOwner: AnyObject {
    func upstreamRead(_ part: HTTPClientResponsePart)
    func upstreamReadComplete()
    func upstreamWritabilityChanged()
    /// The connection closed (by the backend, a reset, or an error it names).
    func upstreamClosed(error: Error?)
}

/// One kept-alive HTTP/1.1 connection to an endpoint, the last handler of
/// its pipeline. Reads only when asked (autoRead is off), so that a slow
/// client slows the backend down instead of filling memory. While parked in
/// the pool it keeps a read outstanding to notice the backend closing it.
final class UpstreamConnection: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let endpoint: String
    weak var owner: UpstreamConnectionOwner?
    weak var pool: UpstreamPool?
    private(set) var context: ChannelHandlerContext?
    private(set) var isClosed = false
    private var lastError: Error?
    /// Armed while parked: closes the connection after the pool's idle timeout.
    private(set) var idleTimer: DeadlineTimer?
    /// Exchanges it carried, for the first-use / reuse distinction.
    var exchanges = 0

    init(endpoint: String) {
        self.endpoint = endpoint
    }

    var channel: Channel? { context?.channel }
    var isWritable: Bool { context?.channel.isWritable ?? false }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        idleTimer = DeadlineTimer(eventLoop: context.eventLoop) { [weak self] in self?.close() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        guard let owner else {
            // A parked connection has nothing to say; a backend that speaks anyway is not reused.
            context.close(promise: nil)
            return
        }
        owner.upstreamRead(part)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        owner?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        owner?.upstreamWritabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        lastError = error
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isClosed = true
        idleTimer?.cancel()
        pool?.remove(self)
        let owner = self.owner
        self.owner = nil
        owner?.upstreamClosed(error: lastError)
        context.fireChannelInactive()
    }

    func write(_ part: HTTPClientRequestPart) {
        context?.write(wrapOutboundOut(part), promise: nil)
    }

    func flush() {
        context?.flush()
    }

    func read() {
        context?.read()
    }

    func close() {
        owner = nil
        context?.close(promise: nil)
    }
}
