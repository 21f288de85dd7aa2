import NIOHTTP1
import Testing
@testable import Gateway

extension GatewaySuite {
    @Suite struct ProxyHeadersTests {
        @Test func forwardedQuotesIPv6NodesAndHostsThatAreNotTokens() {
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/x")
            head.headers.add(name: "Host", value: "[2001:db8::10]:8443")
            let upstream = ProxyHeaders.upstreamRequestHead(head, client: "2001:db8::7", proto: "https")
            #expect(upstream.headers["Forwarded"] == ["for=\"[2001:db8::7]\";proto=https;host=\"[2001:db8::10]:8443\""])
            #expect(upstream.headers["X-Forwarded-For"] == ["2001:db8::7"])
            #expect(upstream.headers["X-Forwarded-Proto"] == ["https"])
            #expect(upstream.headers["Host"] == ["[2001:db8::10]:8443"])
        }

        @Test func aPlainHostStaysAToken() {
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
            head.headers.add(name: "Host", value: "api.example.com")
            let upstream = ProxyHeaders.upstreamRequestHead(head, client: "192.0.2.1", proto: "http")
            #expect(upstream.headers["Forwarded"] == ["for=192.0.2.1;proto=http;host=api.example.com"])
        }

        @Test func responsesLoseHopByHopHeadersAndSayCloseWhenTheyMust() {
            var head = HTTPResponseHead(version: .http1_1, status: .ok)
            head.headers.add(name: "Connection", value: "X-Internal")
            head.headers.add(name: "X-Internal", value: "1")
            head.headers.add(name: "Keep-Alive", value: "timeout=5")
            head.headers.add(name: "Proxy-Authenticate", value: "Basic")
            head.headers.add(name: "Content-Length", value: "3")
            let kept = ProxyHeaders.clientResponseHead(head, requestVersion: .http1_1, keepAlive: true)
            #expect(kept.headers.map(\.name) == ["Content-Length"])
            let closing = ProxyHeaders.clientResponseHead(head, requestVersion: .http1_1, keepAlive: false)
            #expect(closing.headers["Connection"] == ["close"])
            let old = ProxyHeaders.clientResponseHead(head, requestVersion: .http1_0, keepAlive: true)
            #expect(old.version == .http1_0)
            #expect(old.headers["Connection"] == ["keep-alive"])
        }
    }
}
