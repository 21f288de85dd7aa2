import Foundation
import Gateway
import GatewayConfig
import Testing

extension GatewaySuite {
    @Suite struct ProxyTests {
        @Test func requestsGoToTheBackendTheirPathOrHeaderSelects() async throws {
            let a = try await TestBackend(name: "alpha", group: backendGroup)
            let b = try await TestBackend(name: "beta", group: backendGroup)
            let harness = try Harness()
            try await harness.start(snapshot(routes: [
                route(hostnames: ["api.example.com"], [
                    // Same path: the rule with more header matches takes precedence (Gateway API), whatever the order.
                    rule(0, prefix: "/a", [backend([a.endpoint])]),
                    rule(1, prefix: "/a", header: ("x-env", "canary"), [backend([b.endpoint])]),
                ]),
            ]))
            let client = try RawClient(port: harness.port())
            #expect(try client.request("GET", "/a/x", host: "api.example.com").text == "alpha\n")
            #expect(try client.request("GET", "/a/x", host: "api.example.com", headers: [("X-Env", "canary")]).text == "beta\n")
            let missing = try client.request("GET", "/b", host: "api.example.com")
            #expect(missing.status == 404)
            #expect(missing.text == "no route for host api.example.com path /b\n")
            let otherHost = try client.request("GET", "/a", host: "other.example.com")
            #expect(otherHost.status == 404)
            await harness.stop()
            await a.close()
            await b.close()
        }

        @Test(.enabled(if: getuid() == 0, "IP_TRANSPARENT needs CAP_NET_ADMIN"))
        func aListenerAddressThatIsNotLocalIsBoundTransparently() async throws {
            // 198.51.100.0/24 is TEST-NET-2: on no interface here; nothing is sent to it.
            let harness = try Harness()
            try await harness.start(GatewaySnapshot(version: 1, listeners: [HTTPListenerConfig(address: "198.51.100.10", port: 0)]))
            let address = harness.server.boundAddresses["198.51.100.10:0"]
            #expect(address?.ipAddress == "198.51.100.10")
            #expect((address?.port ?? 0) > 0)
            await harness.stop()
        }

        @Test func unresolvedBackendsAnswer500AndRulesWithoutEndpoints503() async throws {
            let harness = try Harness()
            try await harness.start(snapshot(routes: [
                route([
                    rule(0, prefix: "/unresolved", [backend([], name: "service missing:80", resolved: false)]),
                    rule(1, prefix: "/empty", [backend([])]),
                ]),
            ]))
            let client = try RawClient(port: harness.port())
            let unresolved = try client.request("GET", "/unresolved")
            #expect(unresolved.status == 500)
            #expect(unresolved.text.contains("service missing:80"))
            let empty = try client.request("GET", "/empty")
            #expect(empty.status == 503)
            #expect(empty.text == "no ready endpoint for route shop/web rule 1\n")
            await harness.stop()
        }

        @Test func weights70To30HoldWithin5PercentOver500Requests() async throws {
            let heavy = try await TestBackend(name: "heavy", group: backendGroup)
            let light = try await TestBackend(name: "light", group: backendGroup)
            let harness = try Harness()
            try await harness.start(snapshot(routes: [
                route([rule(0, [backend([heavy.endpoint], weight: 70, name: "heavy"), backend([light.endpoint], weight: 30, name: "light")])]),
            ]))
            let client = try RawClient(port: harness.port())
            var counts: [String: Int] = [:]
            for _ in 0..<500 {
                counts[try client.request("GET", "/").text, default: 0] += 1
            }
            #expect(abs((counts["heavy\n"] ?? 0) - 350) <= 25, "counts \(counts)")
            #expect(abs((counts["light\n"] ?? 0) - 150) <= 25, "counts \(counts)")
            await harness.stop()
            await heavy.close()
            await light.close()
        }

        @Test func keptAliveConnectionsAreReusedOnBothSides() async throws {
            let web = try await TestBackend(name: "web", group: backendGroup)
            let harness = try Harness { $0.eventLoopThreads = 1 }
            try await harness.start(snapshot(routes: [route([rule(0, [backend([web.endpoint])])])]))
            let client = try RawClient(port: harness.port())
            for _ in 0..<50 {
                let response = try client.request("GET", "/")
                #expect(response.status == 200)
                #expect(response.header("connection") == nil)
            }
            #expect(!client.closedByPeer)
            #expect(web.acceptedConnections == 1)
            await harness.stop()
            await web.close()
        }

        @Test func aRefusingEndpointIsSkippedAnd502WhenNoneIsLeft() async throws {
            let web = try await TestBackend(name: "web", group: backendGroup)
            let dead = try refusingEndpoint()
            let harness = try Harness()
            try await harness.start(snapshot(routes: [
                route([
                    rule(0, prefix: "/mixed", [backend([dead, web.endpoint])]),
                    rule(1, prefix: "/dead", [backend([dead])]),
                ]),
            ]))
            let client = try RawClient(port: harness.port())
            for _ in 0..<10 {
                let response = try client.request("GET", "/mixed")
                #expect(response.status == 200)
                #expect(response.text == "web\n")
            }
            let none = try client.request("GET", "/dead")
            #expect(none.status == 502)
            #expect(none.text.contains(dead))
            let metrics = try curl(["http://127.0.0.1:\(harness.server.metricsBoundAddress!.port!)/metrics"]).1
            #expect(metrics.contains("routelet_gateway_http_upstream_errors_total{endpoint=\"\(dead)\",kind=\"refused\"}"))
            await harness.stop()
            await web.close()
        }

        @Test func anEndpointThatDoesNotAnswerTheConnectIsLeftAfterTheConnectTimeout() async throws {
            let web = try await TestBackend(name: "web", group: backendGroup)
            let (blackhole, fds) = try blackholeEndpoint()
            defer { fds.forEach { close($0) } }
            let harness = try Harness { $0.connectTimeout = .milliseconds(300) }
            try await harness.start(snapshot(routes: [route([
                rule(0, prefix: "/only", [backend([blackhole])]),
                rule(1, [backend([blackhole, web.endpoint])]),
            ])]))
            let client = try RawClient(port: harness.port())
            let started = Date()
            let none = try client.request("GET", "/only")
            #expect(none.status == 502)
            #expect(Date().timeIntervalSince(started) >= 0.25)
            for _ in 0..<4 {
                #expect(try client.request("GET", "/").text == "web\n")
            }
            let metrics = harness.server.registry.emitToString()
            #expect(metrics.contains("routelet_gateway_http_upstream_errors_total{endpoint=\"\(blackhole)\",kind=\"timeout\"}"), "\(metrics)")
            await harness.stop()
            await web.close()
        }

        @Test func anIdleKeptAliveClientIsClosedAfterTheIdleTimeout() async throws {
            let web = try await TestBackend(name: "web", group: backendGroup)
            let harness = try Harness { $0.idleTimeout = .milliseconds(300) }
            try await harness.start(snapshot(routes: [route([rule(0, [backend([web.endpoint])])])]))
            let client = try RawClient(port: harness.port())
            #expect(try client.request("GET", "/").status == 200)
            #expect(client.closes(within: 2))
            await harness.stop()
            await web.close()
        }

        @Test func aClientOverItsRouteRateGets429WithRetryAfterAndAnotherClientIsServed() async throws {
            let web = try await TestBackend(name: "web", group: backendGroup)
            let harness = try Harness()
            var limited = route([rule(0, [backend([web.endpoint])])])
            limited.rateLimit = HTTPRateLimitConfig(requestsPerSecond: 2, burst: 2)
            try await harness.start(snapshot(routes: [limited]))
            let busy = try RawClient(port: harness.port(), source: "127.0.0.1")
            let statuses = try (0..<4).map { _ in try busy.request("GET", "/") }
            #expect(statuses.map(\.status) == [200, 200, 429, 429], "a burst of 2")
            #expect(statuses[2].header("retry-after") == "1")
            #expect(statuses[2].text.contains("rate limit of route shop/web"))
            let other = try RawClient(port: harness.port(), source: "127.0.0.2")
            #expect(try other.request("GET", "/").status == 200, "another client has its own bucket")
            // 2 per second: one token back within 0.5 s, on the same kept-alive connection.
            try await Task.sleep(for: .milliseconds(600))
            #expect(try busy.request("GET", "/").status == 200)
            #expect(try busy.request("GET", "/").status == 429)
            await harness.stop()
            await web.close()
        }

        @Test func aSlowBackendGets504AfterTheRequestTimeout() async throws {
            let web = try await TestBackend(name: "web", group: backendGroup)
            let harness = try Harness { $0.requestTimeout = .milliseconds(300) }
            try await harness.start(snapshot(routes: [route([rule(0, [backend([web.endpoint])])])]))
            let client = try RawClient(port: harness.port())
            let started = Date()
            let response = try client.request("GET", "/slow?ms=3000")
            #expect(response.status == 504)
            #expect(response.text.contains("did not answer within"))
            #expect(Date().timeIntervalSince(started) < 2.5)
            // The connection stays usable.
            #expect(try client.request("GET", "/").text == "web\n")
            await harness.stop()
            await web.close()
        }

        @Test func forwardingHeadersReachTheBackendAndHopByHopOnesDoNot() async throws {
            let web = try await TestBackend(name: "web", group: backendGroup)
            let harness = try Harness()
            try await harness.start(snapshot(routes: [route([rule(0, [backend([web.endpoint])])])]))
            let client = try RawClient(port: harness.port())
            let response = try client.request("GET", "/echo-headers", host: "api.example.com:8080", headers: [
                ("X-Forwarded-For", "203.0.113.7"), ("Forwarded", "for=203.0.113.7"), ("Connection", "keep-alive, X-Secret"),
                ("X-Secret", "s"), ("Keep-Alive", "timeout=5"), ("Proxy-Authorization", "x"), ("TE", "trailers"), ("X-Kept", "yes"),
            ])
            let lines = Set(response.text.split(separator: "\n").map(String.init))
            #expect(lines.contains("X-Forwarded-For: 203.0.113.7, 127.0.0.1"), "\(lines)")
            #expect(lines.contains("X-Forwarded-Proto: http"))
            #expect(lines.contains("Forwarded: for=203.0.113.7, for=127.0.0.1;proto=http;host=\"api.example.com:8080\""), "\(lines)")
            #expect(lines.contains("Host: api.example.com:8080"))
            #expect(lines.contains("X-Kept: yes"))
            for name in ["X-Secret", "Keep-Alive", "Proxy-Authorization", "TE", "Connection"] {
                #expect(!lines.contains { $0.lowercased().hasPrefix(name.lowercased() + ":") }, "\(name) reached the backend")
            }
            await harness.stop()
            await web.close()
        }

        @Test func headNoContentChunkedAndCloseDelimitedResponsesAreFramedRight() async throws {
            let web = try await TestBackend(name: "web", group: backendGroup)
            let unframed = try await RawBackend(response: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the close\n", group: backendGroup)
            let harness = try Harness()
            try await harness.start(snapshot(routes: [route([
                rule(0, prefix: "/unframed", [backend([unframed.endpoint])]),
                rule(1, [backend([web.endpoint])]),
            ])]))
            let client = try RawClient(port: harness.port())
            let head = try client.request("HEAD", "/")
            #expect(head.status == 200)
            #expect(head.header("content-length") == "4")
            let noContent = try client.request("GET", "/nocontent")
            #expect(noContent.status == 204)
            let chunked = try client.request("GET", "/chunked")
            #expect(chunked.text == "web in chunks\n")
            let closeDelimited = try client.request("GET", "/unframed")
            #expect(closeDelimited.text == "until the close\n")
            // After all of them the same connection still serves.
            #expect(try client.request("GET", "/").text == "web\n")
            // An HTTP/1.0 client without keep-alive gets its answer and the close.
            let old = try RawClient(port: harness.port())
            try old.send("GET / HTTP/1.0\r\nHost: a\r\n\r\n")
            let response = try old.readResponse()
            #expect(response?.text == "web\n")
            #expect(old.closes(within: 2))
            await harness.stop()
            await web.close()
            await unframed.close()
        }
    }
}
