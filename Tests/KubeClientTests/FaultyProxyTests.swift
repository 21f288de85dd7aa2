import Foundation
import Glibc
import NetLab
import Synchronization
import Testing

/// FaultyProxy in front of a small echo server: bytes pass unchanged, and
/// each fault mode does to an open connection what it promises.
@Suite(.serialized)
struct FaultyProxyTests {
    @Test func forwardsBytesUnchangedBothWaysIncludingFourMebibytesAndHalfClose() throws {
        let server = try EchoServer()
        defer { server.stop() }
        let proxy = try FaultyProxy(target: server.port)
        defer { proxy.stop() }
        let client = try TestClient(port: proxy.port)
        defer { client.close() }

        #expect(client.roundTrip("hello"), "a small message did not come back through the proxy")

        // Writer and reader run at once: 4 MiB is far more than the socket
        // buffers on the way, so writing all before reading would deadlock.
        var generator = SplitMix64(seed: 42)
        let payload = (0..<(4 << 20)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let written = Mutex<Bool?>(nil)
        let writer = Thread {
            let sent = client.send(payload)
            _ = shutdown(client.fd, Int32(SHUT_WR))
            written.withLock { $0 = sent }
        }
        writer.start()
        let echoed = client.receiveUntilClosed(timeout: 10)
        #expect(eventually { written.withLock { $0 } != nil } && written.withLock { $0 } == true,
                "the client could not write the 4 MiB payload")
        #expect(echoed.count == payload.count, "received \(echoed.count) of \(payload.count) bytes back")
        #expect(echoed == payload, "the 4 MiB payload came back altered")
    }

    @Test func refuseResetsOpenAndNewConnectionsAndForwardRecovers() throws {
        let server = try EchoServer()
        defer { server.stop() }
        let proxy = try FaultyProxy(target: server.port)
        defer { proxy.stop() }
        let open = try TestClient(port: proxy.port)
        defer { open.close() }
        #expect(open.roundTrip("before"))

        proxy.set(.refuse)
        #expect(open.receive(count: 1, timeout: 2) == .closed, "an open connection survived refuse")
        let refused = try TestClient(port: proxy.port)
        defer { refused.close() }
        #expect(refused.receive(count: 1, timeout: 2) == .closed, "a new connection was not closed under refuse")

        proxy.set(.forward)
        let fresh = try TestClient(port: proxy.port)
        defer { fresh.close() }
        #expect(fresh.roundTrip("after"), "forwarding did not resume after refuse")
        #expect(proxy.connectionsAccepted == 3)
    }

    /// Blackhole drops bytes (it does not buffer them): after `forward` only
    /// what is sent later arrives, on the same, still open connection.
    @Test func blackholeSilencesBothDirectionsKeepsTheConnectionAndDropsTheBytes() throws {
        let server = try EchoServer()
        defer { server.stop() }
        let proxy = try FaultyProxy(target: server.port)
        defer { proxy.stop() }
        let client = try TestClient(port: proxy.port)
        defer { client.close() }
        #expect(client.roundTrip("ping"))
        let serverSide = try #require(server.newestConnection)

        proxy.set(.blackhole)
        #expect(client.send(Array("lost-up".utf8)))
        #expect(client.receive(count: 1, timeout: 0.3) == .timedOut, "an echo came through the blackhole")
        #expect(sendAll(serverSide, Array("lost-down".utf8)))
        #expect(client.receive(count: 1, timeout: 0.3) == .timedOut, "server bytes came through the blackhole")
        #expect(proxy.openConnections == 1, "blackhole closed the connection")

        proxy.set(.forward)
        #expect(client.roundTrip("back"), "the connection did not resume after blackhole")
        #expect(sendAll(serverSide, Array("down".utf8)))
        #expect(client.receive(count: 4, timeout: 2) == .bytes(Array("down".utf8)))
        #expect(client.receive(count: 1, timeout: 0.3) == .timedOut, "bytes sent during blackhole were delivered later")
    }

    @Test func countsAcceptedAndOpenConnections() throws {
        let server = try EchoServer()
        defer { server.stop() }
        let proxy = try FaultyProxy(target: server.port)
        defer { proxy.stop() }
        #expect(proxy.connectionsAccepted == 0 && proxy.openConnections == 0)

        let clients = try (0..<3).map { _ in try TestClient(port: proxy.port) }
        defer { clients.forEach { $0.close() } }
        for client in clients { #expect(client.roundTrip("x")) }
        #expect(proxy.connectionsAccepted == 3)
        #expect(proxy.openConnections == 3)

        clients[0].close()
        #expect(eventually { proxy.openConnections == 2 }, "open stayed \(proxy.openConnections) after a client closed")
        proxy.set(.refuse)
        #expect(eventually { proxy.openConnections == 0 }, "open stayed \(proxy.openConnections) under refuse")
        let refused = try TestClient(port: proxy.port)
        defer { refused.close() }
        #expect(refused.receive(count: 1, timeout: 2) == .closed)
        #expect(proxy.connectionsAccepted == 4, "a refused connection is still an accepted one")
    }

    @Test func targetDownClosesTheClient() throws {
        let proxy = try FaultyProxy(target: try unusedPort())
        defer { proxy.stop() }
        let client = try TestClient(port: proxy.port)
        defer { client.close() }
        #expect(client.receive(count: 1, timeout: 2) == .closed, "the client stayed open with the target down")
        #expect(eventually { proxy.openConnections == 0 })
        #expect(proxy.connectionsAccepted == 1)
    }

    @Test func stopIsPromptIdempotentAndClosesEverything() throws {
        let server = try EchoServer()
        defer { server.stop() }
        let proxy = try FaultyProxy(target: server.port)
        let client = try TestClient(port: proxy.port)
        defer { client.close() }
        #expect(client.roundTrip("x"))
        #expect(threadNames().contains("faulty-proxy"), "no thread named faulty-proxy runs the loop")
        proxy.set(.blackhole)

        // A hang bound, not a benchmark: the loop wakes on an eventfd.
        let took = ContinuousClock().measure { proxy.stop() }
        #expect(took < .seconds(1), "stop() took \(took)")
        proxy.stop()
        #expect(client.receive(count: 1, timeout: 2) == .closed, "a connection outlived stop()")
        #expect(proxy.openConnections == 0)
        #expect(throws: (any Error).self, "the port still accepts after stop()") { _ = try TestClient(port: proxy.port) }
    }

    @Test func deinitStopsTheProxy() throws {
        let server = try EchoServer()
        defer { server.stop() }
        var client: TestClient?
        do {
            let proxy = try FaultyProxy(target: server.port)
            client = try TestClient(port: proxy.port)
            #expect(client?.roundTrip("x") == true)
        }
        defer { client?.close() }
        #expect(client?.receive(count: 1, timeout: 2) == .closed, "a connection outlived the proxy")
    }

    @Test func twoHundredConnectionsLeaveNoDescriptorsBehind() throws {
        let server = try EchoServer()
        defer { server.stop() }
        let proxy = try FaultyProxy(target: server.port)
        defer { proxy.stop() }
        let warmUp = try TestClient(port: proxy.port)
        #expect(warmUp.roundTrip("x"))
        warmUp.close()
        #expect(eventually { proxy.openConnections == 0 && server.openConnections == 0 })
        let baseline = openDescriptorCount()

        for index in 0..<200 {
            let client = try TestClient(port: proxy.port)
            let ok = client.roundTrip("connection \(index)")
            client.close()
            guard ok else {
                Issue.record("round trip \(index) failed")
                return
            }
        }
        #expect(proxy.connectionsAccepted == 201)
        // Other suites of this process may hold a descriptor or two meanwhile.
        #expect(eventually(seconds: 5) {
            proxy.openConnections == 0 && server.openConnections == 0 && abs(openDescriptorCount() - baseline) <= 2
        }, "descriptors: \(openDescriptorCount()) after, \(baseline) before; proxy pairs open: \(proxy.openConnections)")
    }
}

// MARK: - Sockets for the tests

/// A blocking TCP client of 127.0.0.1.
private final class TestClient: Sendable {
    enum Received: Equatable {
        case bytes([UInt8])
        /// EOF or ECONNRESET.
        case closed
        /// SO_RCVTIMEO expired: the connection is open but silent.
        case timedOut
        case failed(Int32)
    }

    let fd: Int32
    private let isClosed = Mutex(false)

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", errno: errno) }
        var address = loopback(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            _ = Glibc.close(fd)
            throw SocketError(operation: "connect 127.0.0.1:\(port)", errno: code)
        }
    }

    func close() {
        let first = isClosed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        if first { _ = Glibc.close(fd) }
    }

    func send(_ bytes: [UInt8]) -> Bool { sendAll(fd, bytes) }

    /// Sends `text` and expects exactly it back from the echo server.
    func roundTrip(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return send(bytes) && receive(count: bytes.count, timeout: 2) == .bytes(bytes)
    }

    /// Reads exactly `count` bytes unless the connection closes or stays
    /// silent for `timeout` seconds.
    func receive(count: Int, timeout: Double) -> Received {
        setReceiveTimeout(timeout)
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: max(count, 1))
        while received.count < count {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, count - received.count) }
            if n > 0 {
                received += chunk[0..<n]
                continue
            }
            let code = errno
            if n == 0 || code == ECONNRESET { return .closed }
            if code == EINTR { continue }
            return code == EAGAIN || code == EWOULDBLOCK ? .timedOut : .failed(code)
        }
        return .bytes(received)
    }

    /// Everything until EOF (or a reset, or `timeout` seconds of silence).
    func receiveUntilClosed(timeout: Double) -> [UInt8] {
        setReceiveTimeout(timeout)
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                received += chunk[0..<n]
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return received
            }
        }
    }

    private func setReceiveTimeout(_ seconds: Double) {
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }
}

/// Echoes every connection's bytes back until EOF, one thread each.
private final class EchoServer: Sendable {
    let port: UInt16
    private let listener: Int32
    /// Server-side sockets still open, oldest first. A socket leaves the
    /// list before its thread closes it, so `stop()` never touches a reused
    /// descriptor number.
    private let connections = Mutex<[Int32]>([])

    init() throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw SocketError(operation: "socket", errno: errno) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listener = self.listener
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 256) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard ok else {
            let code = errno
            _ = close(listener)
            throw SocketError(operation: "bind/listen 127.0.0.1:0", errno: code)
        }
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "echo-accept"
        thread.start()
    }

    var newestConnection: Int32? { connections.withLock { $0.last } }
    var openConnections: Int { connections.withLock { $0.count } }

    /// Wakes the accept thread and every echo thread; each closes its own socket.
    func stop() {
        _ = shutdown(listener, Int32(SHUT_RDWR))
        connections.withLock { $0.forEach { _ = shutdown($0, Int32(SHUT_RDWR)) } }
    }

    private func acceptLoop() {
        while true {
            let fd = accept4Compatible(listener)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                break
            }
            connections.withLock { $0.append(fd) }
            let thread = Thread { [self] in echo(fd) }
            thread.name = "echo-conn"
            thread.start()
        }
        _ = close(listener)
    }

    private func echo(_ fd: Int32) {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || !sendAll(fd, Array(chunk[0..<n])) { break }
        }
        connections.withLock { $0.removeAll { $0 == fd } }
        _ = close(fd)
    }
}

private struct SocketError: Error, CustomStringConvertible {
    var operation: String
    var errno: Int32
    var description: String { "\(operation): \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// accept, then FD_CLOEXEC: the race with a concurrent exec only matters for
/// the proxy, which uses accept4.
private func accept4Compatible(_ listener: Int32) -> Int32 {
    let fd = accept(listener, nil, nil)
    if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return fd
}

private func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
        if n < 0 {
            if errno == EINTR { continue }
            return false
        }
        offset += n
    }
    return true
}

private func loopback(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = in_addr_t(INADDR_LOOPBACK).bigEndian
    address.sin_port = port.bigEndian
    return address
}

/// A port nothing listens on: bound once by the kernel's choice, then released.
private func unusedPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw SocketError(operation: "socket", errno: errno) }
    defer { close(fd) }
    var address = loopback(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard ok else { throw SocketError(operation: "bind 127.0.0.1:0", errno: errno) }
    return UInt16(bigEndian: address.sin_port)
}

private func openDescriptorCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}

private func threadNames() -> [String] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.compactMap {
        (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines)
    }
}

/// Polls `condition` every 10 ms for up to `seconds`.
private func eventually(seconds: Double = 3, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

