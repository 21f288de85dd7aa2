import AccessLog
import Foundation
import NIOCore

/// How `routelet gateway` runs: where the snapshot is, where the access log
/// goes, its timeouts and limits. The defaults are the CLI's.
public struct GatewayConfiguration: Sendable {
    /// Watched for `GatewaySnapshot.fileName` (inotify, with a 1 s poll fallback).
    public var snapshotDirectory: URL
    public var accessLog: AccessLogDestination
    /// "127.0.0.1:9478": Prometheus text on GET /metrics; nil = no metrics server.
    public var metricsAddress: String?
    /// Connecting to an endpoint; past it the next endpoint is tried.
    public var connectTimeout: Duration
    /// From the whole request sent upstream until the response head: 504 after.
    public var requestTimeout: Duration
    /// A kept-alive connection without a request in flight, client side and pooled upstream side.
    public var idleTimeout: Duration
    /// The whole request head must arrive within it from its first byte (and a new connection's
    /// first head from the accept): slowloris gets 408.
    public var headerTimeout: Duration
    /// Request line and headers together; beyond: 431.
    public var maxHeaderBytes: Int
    /// More header fields than this: 431.
    public var maxHeaderCount: Int
    /// In-flight requests finish within it on shutdown and when a listener is removed.
    public var shutdownGracePeriod: Duration
    public var eventLoopThreads: Int
    /// Idle keep-alive connections kept per endpoint and event loop; more
    /// concurrent requests open more connections, closed when released.
    public var maxIdleConnectionsPerEndpoint: Int

    public init(snapshotDirectory: URL,
                accessLog: AccessLogDestination = .standardOutput,
                metricsAddress: String? = "127.0.0.1:9478",
                connectTimeout: Duration = .seconds(3),
                requestTimeout: Duration = .seconds(60),
                idleTimeout: Duration = .seconds(60),
                headerTimeout: Duration = .seconds(10),
                maxHeaderBytes: Int = 64 * 1024,
                maxHeaderCount: Int = 256,
                shutdownGracePeriod: Duration = .seconds(15),
                eventLoopThreads: Int = System.coreCount,
                maxIdleConnectionsPerEndpoint: Int = 64) {
        self.snapshotDirectory = snapshotDirectory
        self.accessLog = accessLog
        self.metricsAddress = metricsAddress
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.shutdownGracePeriod = shutdownGracePeriod
        self.eventLoopThreads = eventLoopThreads
        self.maxIdleConnectionsPerEndpoint = maxIdleConnectionsPerEndpoint
    }
}

extension Duration {
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
