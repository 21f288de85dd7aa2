import NIOCore
import NIOHTTP1
import NIOPosix

/// The upstream connections of one event loop, per endpoint: idle kept-alive
/// connections are reused (most recently parked first), at most
/// `maxIdlePerEndpoint` are kept, each for at most `idleTimeout`. Confined to
/// its event loop, like the client connections that use it, so that an
/// exchange and its upstream connection never cross threads.
final class UpstreamPool {
    struct ConnectError: Error, CustomStringConvertible {
        var endpoint: String
        var underlying: Error
        var description: String { "connect to \(endpoint): \(underlying)" }
    }

    struct BadEndpoint: Error, CustomStringConvertible {
        var endpoint: String
        var description: String { "endpoint \(endpoint) is not address:port" }
    }

    let eventLoop: EventLoop
    private let connectTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let maxIdlePerEndpoint: Int
    private var idle: [String: [UpstreamConnection]] = [:]
    private var addresses: [String: SocketAddress] = [:]
    private var closing = false

    init(eventLoop: EventLoop, connectTimeout: TimeAmount, idleTimeout: TimeAmount, maxIdlePerEndpoint: Int) {
        self.eventLoop = eventLoop
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.maxIdlePerEndpoint = maxIdlePerEndpoint
    }

    /// An idle connection to `endpoint` if there is one (`reused` true, and
    /// `completion` is called at once), else a new one.
    func acquire(_ endpoint: String, allowReuse: Bool = true,
                 _ completion: @escaping (Result<(UpstreamConnection, reused: Bool), Error>) -> Void) {
        eventLoop.preconditionInEventLoop()
        // In place: a copy of the list would copy (and retain) every idle
        // connection to the endpoint on every request.
        while allowReuse, let connection = idle[endpoint]?.popLast() {
            if idle[endpoint]?.isEmpty == true { idle[endpoint] = nil }
            guard !connection.isClosed else { continue }
            connection.idleTimer?.disarm()
            completion(.success((connection, reused: true)))
            return
        }
        let address: SocketAddress
        do {
            address = try self.address(of: endpoint)
        } catch {
            completion(.failure(error))
            return
        }
        ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.autoRead, value: false)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    try operations.addHandler(HTTPRequestEncoder())
                    try operations.addHandler(ByteToMessageHandler(
                        HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .forward)))
                    try operations.addHandler(UpstreamConnection(endpoint: endpoint))
                }
            }
            .connect(to: address)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    do {
                        let connection = try channel.pipeline.syncOperations.handler(type: UpstreamConnection.self)
                        connection.pool = self
                        completion(.success((connection, reused: false)))
                    } catch {
                        channel.close(promise: nil)
                        completion(.failure(ConnectError(endpoint: endpoint, underlying: error)))
                    }
                case .failure(let error):
                    completion(.failure(ConnectError(endpoint: endpoint, underlying: error)))
                }
            }
    }

    /// Parks a connection whose last exchange ended cleanly, or closes it.
    func release(_ connection: UpstreamConnection) {
        eventLoop.preconditionInEventLoop()
        connection.owner = nil
        guard !closing, !connection.isClosed, (idle[connection.endpoint]?.count ?? 0) < maxIdlePerEndpoint else {
            connection.close()
            return
        }
        idle[connection.endpoint, default: []].append(connection)
        connection.idleTimer?.arm(in: idleTimeout)
        // Outstanding read: a backend closing the parked connection is seen at once.
        connection.read()
    }

    func remove(_ connection: UpstreamConnection) {
        idle[connection.endpoint]?.removeAll { $0 === connection }
        if idle[connection.endpoint]?.isEmpty == true { idle[connection.endpoint] = nil }
    }

    /// Idle connections to endpoints no longer in the snapshot.
    func closeIdle(keeping endpoints: Set<String>) {
        for (endpoint, list) in idle where !endpoints.contains(endpoint) {
            idle[endpoint] = nil
            list.forEach { $0.close() }
        }
    }

    /// Shutdown: every idle connection now, and every released one from now on.
    func closeAll() {
        closing = true
        let all = idle.values.flatMap { $0 }
        idle = [:]
        all.forEach { $0.close() }
    }

    var idleCount: Int { idle.values.reduce(0) { $0 + $1.count } }

    private func address(of endpoint: String) throws -> SocketAddress {
        if let cached = addresses[endpoint] { return cached }
        guard let colon = endpoint.lastIndex(of: ":"), let port = Int(endpoint[endpoint.index(after: colon)...]) else {
            throw BadEndpoint(endpoint: endpoint)
        }
        var host = endpoint[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        do {
            let address = try SocketAddress(ipAddress: String(host), port: port)
            if addresses.count > 10_000 { addresses.removeAll() }
            addresses[endpoint] = address
            return address
        } catch {
            throw BadEndpoint(endpoint: endpoint)
        }
    }
}
