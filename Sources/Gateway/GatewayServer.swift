import AccessLog
import Foundation
import GatewayConfig
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Prometheus

/// `routelet gateway`: serves the HTTP and HTTPS listeners of the snapshot
/// the agent writes, applies each new one without dropping a connection,
/// and keeps serving the last good one when the file goes or goes bad.
public final class GatewayServer: Sendable {
    private struct State {
        var listeners: [String: ServedListener] = [:]
        var snapshot: GatewaySnapshot?
        var servingStatus: GatewayServingStatus?
        var applying: EventLoopFuture<Void>?
        var started = false
        var stopped = false
        var watcher: SnapshotWatcher?
        var metricsChannel: Channel?
        /// (inode, mtime, size) of the snapshot file last read, nil when there was none.
        var fileIdentity: FileIdentity?
        var fileMissingLogged = false
    }

    /// The upstream pool of one event loop, reachable from any thread.
    private struct PoolHandle: Sendable {
        var eventLoop: EventLoop
        var box: NIOLoopBoundBox<UpstreamPool>
    }

    struct FileIdentity: Equatable {
        var inode: UInt64
        var modified: Int64
        var size: Int64
    }

    public let configuration: GatewayConfiguration
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let pools: [ObjectIdentifier: PoolHandle]
    private let metrics: GatewayMetrics
    private let rateLimiters = RateLimiters()
    private let accessLog: AccessLogWriter
    private let state = NIOLockedValueBox(State())
    private let control: EventLoop

    /// Opens the access log (throws when it cannot) and starts the event loops; serves nothing until `run()`.
    public init(configuration: GatewayConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        accessLog = try AccessLogWriter(destination: configuration.accessLog)
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads))
        metrics = GatewayMetrics()
        var pools: [ObjectIdentifier: PoolHandle] = [:]
        for loop in group.makeIterator() {
            pools[ObjectIdentifier(loop)] = PoolHandle(eventLoop: loop, box: NIOLoopBoundBox.makeBoxSendingValue(
                UpstreamPool(eventLoop: loop, connectTimeout: configuration.connectTimeout.timeAmount,
                             idleTimeout: configuration.idleTimeout.timeAmount,
                             maxIdlePerEndpoint: configuration.maxIdleConnectionsPerEndpoint),
                eventLoop: loop))
        }
        self.pools = pools
        control = group.next()
    }

    /// The Prometheus registry behind `/metrics`.
    public var registry: PrometheusCollectorRegistry { metrics.registry }

    /// Each served listener's socket address, by "address:port" as the snapshot names it.
    public var boundAddresses: [String: SocketAddress] {
        state.withLockedValue { state in
            state.listeners.compactMapValues { $0.localAddress }
        }
    }

    /// Where `/metrics` is served, once started.
    public var metricsBoundAddress: SocketAddress? { state.withLockedValue { $0.metricsChannel?.localAddress } }

    /// The version of the snapshot being served.
    public var servedVersion: UInt64? { state.withLockedValue { $0.snapshot?.version } }

    /// Starts, serves until the task is cancelled, then shuts down gracefully.
    public func run() async throws {
        try await start()
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
        await shutdown()
    }

    /// Loads the snapshot present, binds its listeners, starts the metrics
    /// server and the snapshot watcher.
    public func start() async throws {
        let first = state.withLockedValue { state -> Bool in
            defer { state.started = true }
            return !state.started
        }
        guard first else { return }
        if let address = configuration.metricsAddress {
            let channel = try await MetricsServer.bind(address, registry: metrics.registry, group: group)
            state.withLockedValue { $0.metricsChannel = channel }
            logger.info("gateway metrics", metadata: ["address": "\(address)"])
        }
        try? await checkSnapshotFile().get()
        let watcher = SnapshotWatcher(directory: configuration.snapshotDirectory) { [weak self] in
            // The watcher's own thread waits, so that checks never pile up.
            try? self?.checkSnapshotFile().wait()
        }
        state.withLockedValue { $0.watcher = watcher }
        watcher.start()
    }

    /// Reads the snapshot file if it changed since the last read, and applies it.
    func checkSnapshotFile() -> EventLoopFuture<Void> {
        let url = configuration.snapshotDirectory.appendingPathComponent(GatewaySnapshot.fileName)
        var info = stat()
        guard stat(url.path, &info) == 0 else {
            let (served, log) = state.withLockedValue { state -> (UInt64?, Bool) in
                defer { state.fileMissingLogged = true; state.fileIdentity = nil }
                return (state.snapshot?.version, !state.fileMissingLogged)
            }
            if log {
                logger.info("no gateway snapshot file", metadata: [
                    "path": "\(url.path)", "serving": "\(served.map { "version \($0)" } ?? "nothing")",
                ])
            }
            return control.makeSucceededVoidFuture()
        }
        let identity = FileIdentity(inode: UInt64(info.st_ino), modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
                                    size: Int64(info.st_size))
        let changed = state.withLockedValue { state -> Bool in
            state.fileMissingLogged = false
            defer { state.fileIdentity = identity }
            return state.fileIdentity != identity
        }
        guard changed else { return control.makeSucceededVoidFuture() }
        do {
            guard let snapshot = try GatewaySnapshot.load(from: configuration.snapshotDirectory) else {
                return control.makeSucceededVoidFuture()
            }
            return apply(snapshot)
        } catch {
            metrics.snapshotErrors.increment()
            let served = state.withLockedValue { $0.snapshot?.version }
            var status = state.withLockedValue { $0.servingStatus } ?? GatewayServingStatus(version: 0, listeners: [])
            status.snapshotError = "\(error)"
            status.updatedAt = Date().ISO8601Format()
            writeStatus(status)
            logger.info("gateway snapshot not applied: it cannot be read", metadata: [
                "path": "\(url.path)", "error": "\(error)", "serving": "\(served.map { "version \($0)" } ?? "nothing")",
            ])
            return control.makeSucceededVoidFuture()
        }
    }

    /// Serves `snapshot` from now on: opens its new listeners, closes the
    /// removed ones (after their requests), swaps the routes of the others.
    /// Applies run one after another; the future says when this one is done.
    @discardableResult
    public func apply(_ snapshot: GatewaySnapshot) -> EventLoopFuture<Void> {
        let promise = control.makePromise(of: Void.self)
        let previous = state.withLockedValue { state -> EventLoopFuture<Void>? in
            defer { state.applying = promise.futureResult }
            return state.applying
        }
        let start: EventLoopFuture<Void> = previous.map { $0.flatMapError { _ in self.control.makeSucceededVoidFuture() } }
            ?? control.makeSucceededVoidFuture()
        start.hop(to: control).flatMap { self.applyNow(snapshot) }.cascade(to: promise)
        return promise.futureResult
    }

    private func applyNow(_ snapshot: GatewaySnapshot) -> EventLoopFuture<Void> {
        guard !state.withLockedValue({ $0.stopped }) else { return control.makeSucceededVoidFuture() }
        var desired: [String: HTTPListenerConfig] = [:]
        var order: [String] = []
        for listener in snapshot.listeners {
            guard desired[listener.hostPort] == nil else {
                logger.info("gateway snapshot names a listener twice; the first is served", metadata: ["listener": "\(listener.hostPort)"])
                continue
            }
            desired[listener.hostPort] = listener
            order.append(listener.hostPort)
        }
        let (removed, kept, previousVersion) = state.withLockedValue { state -> ([ServedListener], [ServedListener], UInt64?) in
            let removed = state.listeners.filter { desired[$0.key] == nil }.map(\.value)
            for listener in removed { state.listeners[listener.hostPort] = nil }
            return (removed, state.listeners.values.filter { desired[$0.hostPort] != nil }, state.snapshot?.version)
        }
        for listener in removed {
            logger.info("gateway listener removed; its connections finish their requests", metadata: ["listener": "\(listener.hostPort)"])
            _ = listener.drain(grace: configuration.shutdownGracePeriod.timeAmount, on: control)
        }
        for listener in kept {
            guard let config = desired[listener.hostPort] else { continue }
            let router = ListenerRouter(listener: config)
            report(router.problems, listener: config.hostPort)
            var tls: NIOSSLContext?
            if listener.proto == "https", config != listener.config || snapshot.version != previousVersion {
                do {
                    tls = try TLSCertificates.load(config, directory: configuration.snapshotDirectory).makeContext()
                } catch {
                    metrics.snapshotErrors.increment()
                    logger.info("gateway certificates not reloaded; the previous ones stay", metadata: ["error": "\(error)"])
                }
            }
            listener.swap(to: config, router: router, tls: tls)
        }
        let keptNames = Set(kept.map(\.hostPort))
        let failures = NIOLockedValueBox<[String: String]>([:])
        let binds = order.filter { !keptNames.contains($0) }.compactMap { desired[$0] }.map { config in
            bind(config).map { Optional($0) }.recover { error in
                self.metrics.snapshotErrors.increment()
                self.logger.info("gateway listener not served: bind failed", metadata: ["listener": "\(config.hostPort)", "error": "\(error)"])
                failures.withLockedValue { $0[config.hostPort] = "\(error)" }
                return nil
            }
        }
        let served = order
        return EventLoopFuture.whenAllComplete(binds, on: control).map { results in
            let bound = results.compactMap { try? $0.get() }.compactMap { $0 }
            let stale = self.state.withLockedValue { state -> [ServedListener] in
                guard !state.stopped else { return bound }
                for listener in bound { state.listeners[listener.hostPort] = listener }
                state.snapshot = snapshot
                return []
            }
            for listener in stale { _ = listener.drain(grace: .zero, on: self.control) }
            self.metrics.snapshotVersion.set(Double(snapshot.version))
            let endpoints = Set(snapshot.listeners.flatMap { $0.routes.flatMap { $0.rules.flatMap { $0.backends.flatMap(\.endpoints) } } })
            self.metrics.setEndpoints(endpoints)
            self.rateLimiters.keep(snapshot)
            for (_, handle) in self.pools {
                handle.eventLoop.execute { handle.box.value.closeIdle(keeping: endpoints) }
            }
            let failed = failures.withLockedValue { $0 }
            self.writeStatus(GatewayServingStatus(version: snapshot.version, listeners: served.map {
                GatewayServingStatus.ListenerStatus(listener: $0, bound: failed[$0] == nil, error: failed[$0])
            }))
            self.logger.info("gateway snapshot applied", metadata: [
                "version": "\(snapshot.version)", "listeners": "\(served.count)", "added": "\(bound.count)", "removed": "\(removed.count)",
            ])
        }
    }

    /// `gateway-status.json` beside the snapshot: what the agent reports as served.
    private func writeStatus(_ status: GatewayServingStatus) {
        state.withLockedValue { $0.servingStatus = status }
        do {
            try status.write(to: configuration.snapshotDirectory)
        } catch {
            logger.info("gateway status not written", metadata: ["error": "\(error)"])
        }
    }

    private func report(_ problems: [RuleProblem], listener: String) {
        for problem in problems {
            logger.info("gateway rule not served", metadata: [
                "listener": "\(listener)", "route": "\(problem.namespace)/\(problem.name)", "rule": "\(problem.ruleIndex)",
                "problem": "\(problem.message)",
            ])
        }
    }

    /// IP_TRANSPARENT (so that the listener address need not be local: the
    /// eBPF stage hands its packets to this socket), falling back to a
    /// plain bind when the capability is missing.
    private func bind(_ config: HTTPListenerConfig) -> EventLoopFuture<ServedListener> {
        let tls: NIOSSLContext?
        if config.protocol.uppercased() == "HTTPS" {
            do {
                tls = try TLSCertificates.load(config, directory: configuration.snapshotDirectory).makeContext()
            } catch {
                return control.makeFailedFuture(error)
            }
        } else {
            tls = nil
        }
        let listener = ServedListener(config: config, tls: tls, group: group, activeConnections: metrics.activeConnections(listener: config.hostPort))
        report(listener.router.problems, listener: config.hostPort)
        let isIPv6 = config.address.contains(":")
        return bootstrap(listener, transparent: isIPv6 ? .ipv6 : .ipv4)
            .bind(host: config.address, port: config.port)
            .flatMapError { error in
                self.logger.info("gateway listener bound without IP_TRANSPARENT (needs CAP_NET_ADMIN); only local addresses work",
                                 metadata: ["listener": "\(config.hostPort)", "error": "\(error)"])
                return self.bootstrap(listener, transparent: nil).bind(host: config.address, port: config.port)
            }
            .map { channel in
                listener.serverChannel = channel
                self.logger.info("gateway listener serving", metadata: ["listener": "\(config.hostPort)", "protocol": "\(config.protocol)"])
                return listener
            }
    }

    private enum Transparent { case ipv4, ipv6 }

    private func bootstrap(_ listener: ServedListener, transparent: Transparent?) -> ServerBootstrap {
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        switch transparent {
        case .ipv4:
            bootstrap = bootstrap.serverChannelOption(ChannelOptions.Types.SocketOption(level: .init(IPPROTO_IP), name: .init(19)), value: 1)  // IP_TRANSPARENT
        case .ipv6:
            bootstrap = bootstrap.serverChannelOption(ChannelOptions.Types.SocketOption(level: .init(IPPROTO_IPV6), name: .init(75)), value: 1)  // IPV6_TRANSPARENT
        case nil:
            break
        }
        let services = ProxyServices(configuration: configuration, accessLog: accessLog, metrics: metrics, rateLimiters: rateLimiters,
                                     logger: logger)
        let pools = self.pools
        return bootstrap
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(listener.quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let pool = pools[ObjectIdentifier(channel.eventLoop)]?.box.value else {
                        preconditionFailure("an event loop of the gateway's group without a pool")
                    }
                    try Self.initializeClient(channel, listener: listener, services: services, pool: pool)
                }
            }
    }

    private static func initializeClient(_ channel: Channel, listener: ServedListener, services: ProxyServices, pool: UpstreamPool) throws {
        let configuration = services.configuration
        let operations = channel.pipeline.syncOperations
        if let tls = listener.tlsContext {
            try operations.addHandler(NIOSSLServerHandler(context: tls))
        }
        let headGuard = RequestHeadGuard(maxHeadBytes: configuration.maxHeaderBytes, headerTimeout: configuration.headerTimeout.timeAmount,
                                         idleTimeout: configuration.idleTimeout.timeAmount)
        try operations.addHandler(headGuard)
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = configuration.maxHeaderBytes
        limits.maxHeaderFieldSize = configuration.maxHeaderBytes
        limits.maxHeaderFieldCount = configuration.maxHeaderCount
        // No outbound header validation, here or upstream: every header the
        // proxy writes either came through llhttp (which refuses CR, LF and
        // NUL in names and values) or is the proxy's own, so checking each
        // byte again costs about a tenth of a request for nothing.
        try operations.configureHTTPServerPipeline(position: .last, withPipeliningAssistance: true, withServerUpgrade: nil,
                                                   withErrorHandling: false, withOutboundHeaderValidation: false,
                                                   withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
        try operations.addHandler(ProxyHandler(listener: listener, services: services, pool: pool, headGuard: headGuard))
        listener.opened(channel)
    }

    /// Stops accepting, lets requests in flight finish within the grace
    /// period, closes idle connections both sides, then stops the loops.
    public func shutdown() async {
        let (listeners, watcher, metricsChannel, alreadyStopped) = state.withLockedValue { state in
            defer { state.stopped = true; state.listeners = [:]; state.watcher = nil; state.metricsChannel = nil }
            return (Array(state.listeners.values), state.watcher, state.metricsChannel, state.stopped)
        }
        guard !alreadyStopped else { return }
        watcher?.stop()
        let grace = configuration.shutdownGracePeriod.timeAmount
        let drained = listeners.map { $0.drain(grace: grace, on: control) }
        _ = try? await EventLoopFuture.whenAllComplete(drained, on: control).get()
        for (_, handle) in pools {
            try? await handle.eventLoop.submit { handle.box.value.closeAll() }.get()
        }
        try? await metricsChannel?.close()
        accessLog.stop()
        try? await group.shutdownGracefully()
        logger.info("gateway stopped")
    }

    /// Blocks until the access-log lines of finished requests are written (tests).
    public func flushAccessLog() {
        accessLog.waitUntilWritten()
    }
}
