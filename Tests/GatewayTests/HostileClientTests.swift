import Foundation
import Gateway
import GatewayConfig
import Testing

extension GatewaySuite {
    /// Each hostile request gets its 4xx and a closed connection, and a normal
    /// client on another connection is served all along.
    @Suite struct HostileClientTests {
        static let cases: [(name: String, bytes: String, status: Int)] = [
            ("malformed request line", "GET\u{7F} /x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("garbage", "\u{01}\u{02}\u{03} hello\r\n\r\n", 400),
            ("invalid chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400),
            ("Content-Length with Transfer-Encoding",
             "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400),
            ("differing Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
            ("equal duplicate Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
            ("Transfer-Encoding not chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc", 400),
            ("no Host", "GET / HTTP/1.1\r\n\r\n", 400),
            ("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            ("oversize headers", "GET / HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "b", count: 70 * 1024))\r\n\r\n", 431),
            ("oversize request line", "GET /\(String(repeating: "p", count: 70 * 1024)) HTTP/1.1\r\nHost: a\r\n\r\n", 431),
            ("a dot segment walking out of a prefix", "GET /admin/../secret HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("an encoded dot segment", "GET /admin/%2E%2E/secret HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            // The proxy writes headers on without validating them again: the
            // parser must refuse what could split them on the other side.
            ("a bare CR inside a header value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\rX-Injected: 2\r\n\r\n", 400),
            ("a NUL inside a header value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\u{0}2\r\n\r\n", 400),
            ("a space inside a header name", "GET / HTTP/1.1\r\nHost: a\r\nX A: 1\r\n\r\n", 400),
            ("header count flood", "GET / HTTP/1.1\r\nHost: a\r\n" + (0..<2000).map { "X-\($0): v\r\n" }.joined() + "\r\n", 431),
        ]

        @Test func hostileRequestsGetTheir4xxAndAClosedConnection() async throws {
            let web = try await TestBackend(name: "web", group: backendGroup)
            let harness = try Harness()
            try await harness.start(snapshot(routes: [route([rule(0, [backend([web.endpoint])])])]))
            let normal = try RawClient(port: harness.port())
            for (name, bytes, status) in Self.cases {
                let hostile = try RawClient(port: harness.port())
                try? hostile.send(bytes)
                let response = try? hostile.readResponse()
                #expect(response?.status == status, "\(name): got \(response.map { "\($0.status) \($0.text)" } ?? "no response")")
                #expect(response?.header("connection") == "close", "\(name)")
                #expect(hostile.closes(within: 2), "\(name): the connection stays open")
                #expect(try normal.request("GET", "/").text == "web\n", "after \(name)")
            }
            await harness.stop()
            await web.close()
        }

        @Test func slowlorisGets408WithinTheHeaderTimeout() async throws {
            let web = try await TestBackend(name: "web", group: backendGroup)
            let harness = try Harness { $0.headerTimeout = .milliseconds(500) }
            try await harness.start(snapshot(routes: [route([rule(0, [backend([web.endpoint])])])]))
            let slow = try RawClient(port: harness.port())
            let started = Date()
            try slow.send("GET / HTTP/1.1\r\nHost: a\r\n")
            let normal = try RawClient(port: harness.port())
            for _ in 0..<3 {
                try? slow.send("X-Drip: 1\r\n")
                #expect(try normal.request("GET", "/").text == "web\n")
                usleep(100_000)
            }
            let response = try slow.readResponse()
            let elapsed = Date().timeIntervalSince(started)
            #expect(response?.status == 408)
            #expect(elapsed < 1.5, "408 after \(elapsed) s")
            #expect(slow.closes(within: 1))
            // A connection that sends nothing at all is closed as well.
            let silent = try RawClient(port: harness.port())
            #expect(try silent.readResponse()?.status == 408)
            await harness.stop()
            await web.close()
        }
    }
}
