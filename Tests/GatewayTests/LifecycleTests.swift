import Foundation
import Gateway
import GatewayConfig
import NIOConcurrencyHelpers
import Testing

extension GatewaySuite {
    @Suite struct LifecycleTests {
        @Test func tenMebibytesStreamUpAndDownWithoutBeingBuffered() async throws {
            let web = try await TestBackend(name: "web", group: backendGroup)
            let harness = try Harness()
            try await harness.start(snapshot(routes: [route([rule(0, [backend([web.endpoint])])])]))
            let port = harness.port()
            let size = 10 * 1024 * 1024
            let upload = harness.directory.appendingPathComponent("upload.bin")
            try Data(repeating: 0x75, count: size).write(to: upload)
            // Once to warm the allocator and the pools, then measured.
            _ = try curl(["-o", "/dev/null", "http://127.0.0.1:\(port)/download?bytes=\(1024 * 1024)"])
            resetPeakResident()
            let before = residentKiB()
            // --limit-rate keeps the client slower than the backend, so that a proxy without backpressure would buffer.
            let (downStatus, downOut) = try curl(["--limit-rate", "8M", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                                                  "http://127.0.0.1:\(port)/download?bytes=\(size)"])
            let (upStatus, upOut) = try curl(["-H", "Expect:", "--data-binary", "@\(upload.path)", "http://127.0.0.1:\(port)/upload"])
            let grown = residentKiB(peak: true) - before
            #expect(downStatus == 0)
            #expect(downOut == "200 \(size)")
            #expect(upStatus == 0)
            #expect(upOut == "web received \(size)\n")
            #expect(grown < 3 * 1024, "peak resident memory grew by \(grown) KiB streaming 2 x 10 MiB")
            let log = harness.accessLogLines().filter { ($0["path"] as? String) == "/upload" || ($0["path"] as? String) == "/download" }
            #expect(log.contains { ($0["bytes_received"] as? Int) == size })
            #expect(log.contains { ($0["bytes_sent"] as? Int) == size })
            await harness.stop()
            await web.close()
        }

        @Test func applyingSnapshotsUnderKeptAliveLoadFailsNoRequest() async throws {
            let a = try await TestBackend(name: "alpha", group: backendGroup)
            let b = try await TestBackend(name: "beta", group: backendGroup)
            let harness = try Harness()
            try await harness.start(snapshot(version: 1, routes: [route([rule(0, [backend([a.endpoint])])])]))
            let port = harness.port()
            let failures = NIOLockedValueBox<[String]>([])
            let served = NIOLockedValueBox<[String: Int]>([:])
            let stop = NIOLockedValueBox(false)
            let finished = NIOLockedValueBox(0)
            for _ in 0..<4 {
                let thread = Thread {
                    defer { finished.withLockedValue { $0 += 1 } }
                    do {
                        let client = try RawClient(port: port)
                        while !stop.withLockedValue({ $0 }) {
                            let response = try client.request("GET", "/slow?ms=2")
                            if response.status != 200 { failures.withLockedValue { $0.append("status \(response.status)") } }
                            served.withLockedValue { $0[response.text, default: 0] += 1 }
                        }
                        if client.closedByPeer { failures.withLockedValue { $0.append("closed by the gateway") } }
                    } catch {
                        failures.withLockedValue { $0.append("\(error)") }
                    }
                }
                thread.start()
            }
            for version in 2...11 {
                try await Task.sleep(for: .milliseconds(60))
                let target = version % 2 == 0 ? b : a
                try await harness.server.apply(snapshot(version: UInt64(version), routes: [route([rule(0, [backend([target.endpoint])])])])).get()
            }
            try await Task.sleep(for: .milliseconds(100))
            stop.withLockedValue { $0 = true }
            while finished.withLockedValue({ $0 }) < 4 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(failures.withLockedValue { $0 } == [])
            let counts = served.withLockedValue { $0 }
            #expect((counts["alpha\n"] ?? 0) > 10 && (counts["beta\n"] ?? 0) > 10, "\(counts)")
            // Version 11 sends everything to alpha.
            let client = try RawClient(port: port)
            #expect(try client.request("GET", "/").text == "alpha\n")
            #expect(harness.server.servedVersion == 11)
            await harness.stop()
            await a.close()
            await b.close()
        }

        @Test func aRemovedListenerLetsItsInFlightRequestFinish() async throws {
            let web = try await TestBackend(name: "web", group: backendGroup)
            let harness = try Harness()
            let routes = [route([rule(0, [backend([web.endpoint])])])]
            let two = GatewaySnapshot(version: 1, listeners: [
                HTTPListenerConfig(address: "127.0.0.1", port: 0, routes: routes),
                HTTPListenerConfig(address: "127.0.0.2", port: 0, routes: routes),
            ])
            try await harness.start(two)
            let removedPort = harness.port("127.0.0.2:0")
            let keptPort = harness.port("127.0.0.1:0")
            #expect(removedPort > 0 && keptPort > 0)
            let inFlight = try RawClient(port: removedPort, host: "127.0.0.2")
            try inFlight.send("GET /slow?ms=700 HTTP/1.1\r\nHost: a\r\n\r\n")
            try await Task.sleep(for: .milliseconds(100))
            try await harness.server.apply(GatewaySnapshot(version: 2, listeners: [HTTPListenerConfig(address: "127.0.0.1", port: 0, routes: routes)])).get()
            #expect(harness.server.boundAddresses["127.0.0.2:0"] == nil)
            let response = try inFlight.readResponse()
            #expect(response?.status == 200)
            #expect(response?.text == "web\n")
            #expect(response?.header("connection") == "close")
            #expect(inFlight.closes(within: 2))
            #expect(throws: (any Error).self) { try RawClient(port: removedPort, host: "127.0.0.2") }
            #expect(try RawClient(port: keptPort).request("GET", "/").text == "web\n")
            await harness.stop()
            await web.close()
        }

        @Test func gracefulShutdownFinishesAnInFlightSlowRequest() async throws {
            let web = try await TestBackend(name: "web", group: backendGroup)
            let harness = try Harness()
            try await harness.start(snapshot(routes: [route([rule(0, [backend([web.endpoint])])])]))
            let port = harness.port()
            let idle = try RawClient(port: port)
            #expect(try idle.request("GET", "/").status == 200)
            let slow = try RawClient(port: port)
            try slow.send("GET /slow?ms=800 HTTP/1.1\r\nHost: a\r\n\r\n")
            try await Task.sleep(for: .milliseconds(100))
            let started = Date()
            let server = harness.server
            let shutdown = Task { await server.shutdown() }
            #expect(idle.closes(within: 3), "an idle kept-alive connection stays open during shutdown")
            let response = try slow.readResponse()
            #expect(response?.status == 200)
            #expect(response?.text == "web\n")
            await shutdown.value
            #expect(Date().timeIntervalSince(started) < 4)
            #expect(throws: (any Error).self) { try RawClient(port: port) }
            await harness.stop()
            await web.close()
        }

        @Test func theSnapshotFileIsWatchedAndABadOneKeepsTheLastGood() async throws {
            let a = try await TestBackend(name: "alpha", group: backendGroup)
            let b = try await TestBackend(name: "beta", group: backendGroup)
            let harness = try Harness()
            try snapshot(version: 1, routes: [route([rule(0, [backend([a.endpoint])])])]).write(to: harness.directory)
            try await harness.start()
            #expect(harness.server.servedVersion == 1)
            let port = harness.port()
            #expect(try RawClient(port: port).request("GET", "/").text == "alpha\n")

            try Data("{ not json".utf8).write(to: harness.directory.appendingPathComponent(GatewaySnapshot.fileName))
            try await waitFor { harness.server.registry.emitToString().contains("routelet_gateway_snapshot_errors_total 1") }
            #expect(try RawClient(port: port).request("GET", "/").text == "alpha\n")

            try FileManager.default.removeItem(at: harness.directory.appendingPathComponent(GatewaySnapshot.fileName))
            try await Task.sleep(for: .milliseconds(200))
            #expect(try RawClient(port: port).request("GET", "/").text == "alpha\n")

            try snapshot(version: 2, routes: [route([rule(0, [backend([b.endpoint])])])]).write(to: harness.directory)
            try await waitFor { harness.server.servedVersion == 2 }
            #expect(try RawClient(port: port).request("GET", "/").text == "beta\n")
            #expect(harness.server.registry.emitToString().contains("routelet_gateway_snapshot_version 2"))
            await harness.stop()
            await a.close()
            await b.close()
        }

        @Test func accessLogLinesCarryTheRequestAndTheNamedHeaders() async throws {
            let web = try await TestBackend(name: "web", group: backendGroup)
            let harness = try Harness()
            try await harness.start(snapshot(routes: [
                route(name: "users", accessLogHeaders: ["X-User-Role", "X-Request-Id", "X-Long"], [rule(3, prefix: "/users", [backend([web.endpoint])])]),
            ]))
            let port = harness.port()
            let client = try RawClient(port: port)
            let long = String(repeating: "é", count: 200)  // 400 bytes
            _ = try client.request("POST", "/users/7?debug=1", host: "api.example.com",
                                   headers: [("X-User-Role", "admin"), ("X-Long", long)], body: "hello")
            _ = try client.request("GET", "/none", host: "api.example.com")
            try await waitFor { harness.accessLogLines().count == 2 }
            let lines = harness.accessLogLines()
            try #require(lines.count == 2)
            let line = try #require(lines.first)
            #expect(line["source"] as? String == "gateway")
            #expect(line["listener"] as? String == "127.0.0.1:0")
            #expect(line["namespace"] as? String == "shop")
            #expect(line["route"] as? String == "users")
            #expect(line["rule"] as? Int == 3)
            #expect(line["method"] as? String == "POST")
            #expect(line["host"] as? String == "api.example.com")
            #expect(line["path"] as? String == "/users/7")
            #expect(line["status"] as? Int == 200)
            #expect(line["backend"] as? String == web.endpoint)
            #expect(line["bytes_received"] as? Int == 5)
            #expect(line["bytes_sent"] as? Int == 4)
            #expect((line["duration_ms"] as? Double).map { $0 >= 0 } == true)
            let time = try #require(line["time"] as? String)
            #expect(time.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "\(time)")
            let headers = try #require(line["headers"] as? [String: String])
            #expect(headers["X-User-Role"] == "admin")
            #expect(headers["X-Request-Id"] == nil, "an absent header is absent, not empty")
            #expect(headers["X-Long"] == String(repeating: "é", count: 128), "256 bytes of a 400-byte value")
            let missing = lines[1]
            #expect(missing["status"] as? Int == 404)
            #expect(missing["route"] == nil)
            let metrics = try curl(["http://127.0.0.1:\(harness.server.metricsBoundAddress!.port!)/metrics"]).1
            #expect(metrics.contains("routelet_gateway_http_requests_total{namespace=\"shop\",route=\"users\",rule=\"3\",code=\"200\"} 1"), "\(metrics)")
            #expect(metrics.contains("routelet_gateway_http_request_duration_seconds_count{namespace=\"shop\",route=\"users\"} 1"))
            #expect(metrics.contains("routelet_gateway_http_active_connections{listener=\"127.0.0.1:0\"} 1"))
            await harness.stop()
            await web.close()
        }
    }
}

/// Polls `condition` for up to 5 s.
func waitFor(_ condition: () -> Bool) async throws {
    for _ in 0..<100 {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("condition not met within 5 s")
}
