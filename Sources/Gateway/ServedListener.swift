import GatewayConfig
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOSSL
import Prometheus

/// One bound listener: its socket, the router its new requests use (swapped
/// whole by an apply; a request keeps the rule it matched), its TLS context
/// for HTTPS, and its open client connections.
final class ServedListener: Sendable {
    let hostPort: String
    /// "http" or "https", as X-Forwarded-Proto says it.
    let proto: String
    let quiescing: ServerQuiescingHelper
    let activeConnections: Gauge
    private let routerBox: NIOLockedValueBox<ListenerRouter>
    private let configBox: NIOLockedValueBox<HTTPListenerConfig>
    private let tlsBox: NIOLockedValueBox<NIOSSLContext?>
    private let channels = NIOLockedValueBox<[ObjectIdentifier: Channel]>([:])
    private let serverChannelBox = NIOLockedValueBox<Channel?>(nil)

    init(config: HTTPListenerConfig, tls: NIOSSLContext?, group: EventLoopGroup, activeConnections: Gauge) {
        hostPort = config.hostPort
        proto = config.protocol.uppercased() == "HTTPS" ? "https" : "http"
        quiescing = ServerQuiescingHelper(group: group)
        self.activeConnections = activeConnections
        routerBox = NIOLockedValueBox(ListenerRouter(listener: config))
        configBox = NIOLockedValueBox(config)
        tlsBox = NIOLockedValueBox(tls)
    }

    var router: ListenerRouter { routerBox.withLockedValue { $0 } }
    var config: HTTPListenerConfig { configBox.withLockedValue { $0 } }
    var tlsContext: NIOSSLContext? { tlsBox.withLockedValue { $0 } }

    /// New requests use `config` from now on; requests in flight keep theirs.
    func swap(to config: HTTPListenerConfig, router: ListenerRouter, tls: NIOSSLContext?) {
        configBox.withLockedValue { $0 = config }
        routerBox.withLockedValue { $0 = router }
        if let tls { tlsBox.withLockedValue { $0 = tls } }
    }

    var serverChannel: Channel? {
        get { serverChannelBox.withLockedValue { $0 } }
        set { serverChannelBox.withLockedValue { $0 = newValue } }
    }

    var localAddress: SocketAddress? { serverChannel?.localAddress }

    func opened(_ channel: Channel) {
        channels.withLockedValue { $0[ObjectIdentifier(channel)] = channel }
        activeConnections.increment()
        channel.closeFuture.whenComplete { [self] _ in
            channels.withLockedValue { _ = $0.removeValue(forKey: ObjectIdentifier(channel)) }
            activeConnections.decrement()
        }
    }

    var openConnections: Int { channels.withLockedValue { $0.count } }

    /// Stops accepting; each connection closes after the request it is
    /// serving (idle ones at once). Past `grace`, the rest are closed.
    func drain(grace: TimeAmount, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        let drained = eventLoop.makePromise(of: Void.self)
        quiescing.initiateShutdown(promise: drained)
        let force = eventLoop.scheduleTask(in: grace) { [self] in
            for channel in channels.withLockedValue({ Array($0.values) }) { channel.close(promise: nil) }
        }
        return drained.futureResult.always { _ in force.cancel() }
    }
}
