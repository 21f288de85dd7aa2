import Foundation
import Testing
import Gateway
import GatewayConfig
import Logging
import NIOCore
import NIOPosix

/// One backend group per test process: the backends' event loops are not the gateway's.
let backendGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)

/// A gateway on loopback with short timeouts, its snapshot directory and access log in a temporary directory.
final class Harness {
    let directory: URL
    let server: GatewayServer
    let accessLogPath: String

    init(configure: (inout GatewayConfiguration) -> Void = { _ in }) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-test-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        accessLogPath = directory.appendingPathComponent("access.log").path
        var configuration = GatewayConfiguration(snapshotDirectory: directory, accessLog: .file(accessLogPath), metricsAddress: "127.0.0.1:0",
                                                 connectTimeout: .seconds(1), requestTimeout: .seconds(5), idleTimeout: .seconds(5),
                                                 headerTimeout: .seconds(2), shutdownGracePeriod: .seconds(5), eventLoopThreads: 2)
        configure(&configuration)
        var logger = Logger(label: "gateway-test")
        logger.logLevel = ProcessInfo.processInfo.environment["GATEWAY_TEST_LOG"] == nil ? .critical : .debug
        server = try GatewayServer(configuration: configuration, logger: logger)
    }

    func start(_ snapshot: GatewaySnapshot? = nil) async throws {
        try await server.start()
        if let snapshot { try await server.apply(snapshot).get() }
    }

    func port(_ listener: String = "127.0.0.1:0") -> Int {
        server.boundAddresses[listener]?.port ?? -1
    }

    func stop() async {
        await server.shutdown()
        try? FileManager.default.removeItem(at: directory)
    }

    func accessLogLines() -> [[String: Any]] {
        server.flushAccessLog()
        guard let text = try? String(contentsOfFile: accessLogPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}

func snapshot(version: UInt64 = 1, port: Int = 0, routes: [HTTPRouteConfig]) -> GatewaySnapshot {
    GatewaySnapshot(version: version, node: "test", listeners: [HTTPListenerConfig(address: "127.0.0.1", port: port, routes: routes)])
}

func route(name: String = "web", hostnames: [String] = [], accessLogHeaders: [String] = [], _ rules: [HTTPRuleConfig]) -> HTTPRouteConfig {
    HTTPRouteConfig(namespace: "shop", name: name, hostnames: hostnames, rules: rules, accessLogHeaders: accessLogHeaders)
}

func rule(_ index: Int, prefix: String? = nil, header: (String, String)? = nil, _ backends: [HTTPBackendConfig]) -> HTTPRuleConfig {
    var match = HTTPRequestMatch()
    if let prefix { match.path = HTTPPathMatchConfig(type: "PathPrefix", value: prefix) }
    if let header { match.headers = [HTTPValueMatchConfig(name: header.0, value: header.1)] }
    return HTTPRuleConfig(index: index, matches: prefix == nil && header == nil ? [] : [match], backends: backends)
}

func backend(_ endpoints: [String], weight: Int = 1, name: String = "service web:80", resolved: Bool = true) -> HTTPBackendConfig {
    HTTPBackendConfig(name: name, weight: weight, resolved: resolved, endpoints: endpoints)
}

/// A loopback port nobody listens on: connections to it are refused.
func refusingEndpoint() throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    close(fd)
    return "127.0.0.1:\(UInt16(bigEndian: address.sin_port))"
}

/// Every gateway test runs alone: they measure the process's memory and
/// count connections, which tests running beside them would disturb.
@Suite(.serialized) enum GatewaySuite {}

/// A loopback listener that never accepts, its queue already full, so that
/// a connection to it neither succeeds nor is refused: the connect times out.
/// Returns the endpoint and the descriptors to close afterwards.
func blackholeEndpoint() throws -> (String, [Int32]) {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    listen(listener, 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
    var fds = [listener]
    // Fill the accept queue (backlog 0 still takes one).
    for _ in 0..<2 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue), 0)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        fds.append(fd)
    }
    usleep(50_000)
    return ("127.0.0.1:\(UInt16(bigEndian: address.sin_port))", fds)
}
