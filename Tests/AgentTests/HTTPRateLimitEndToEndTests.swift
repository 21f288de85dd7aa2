import Foundation
import NetLab
import Testing

extension HTTPGatewayEndToEndTests {
    /// rateLimit on an HTTP listener, in the lab: a client that sends
    /// faster than its rate gets 429 with Retry-After for the excess, while
    /// a second client address, at the same time, gets every answer.
    @Test func aClientOverItsHTTPRateGets429WithRetryAfterWhileAnotherClientIsUntouched() throws {
        let env = try GatewayAgentLab()
        defer { env.tearDown() }
        let busy = GatewayLab.clientAddress, calm = "198.18.10.4"
        try env.lab.client.ip("addr add \(calm)/24 dev eth0")
        let backends = (0..<3).map { "    - {addresses: [\(GatewayLab.backendAddress($0))], port: \(GatewayLab.httpPort)}" }
        try env.write("limited.yaml", """
            apiVersion: routelet.dev/v1alpha1
            kind: GatewayRoute
            metadata: {name: limited, namespace: default}
            spec:
              interfaces: [gc]
              listener: {address: \(GatewayLab.listener), port: 80, protocol: HTTP}
              rateLimit: {requestsPerSecond: 5, burst: 5}
              rules:
              - backends:
            \(backends.joined(separator: "\n"))
            """)
        let agent = try env.startHTTPAgent()
        defer { agent.stop() }
        try env.waitForGatewayServing()

        // busy: 30 requests back to back on one connection; calm: one every
        // 0.3 s on its own connection meanwhile (below 5/s).
        let output = try env.lab.client.run([Traffic.python, "-c", """
            import http.client, json, threading, time
            results = {}
            def send(source, count, spacing):
                c = http.client.HTTPConnection("\(GatewayLab.listener)", 80, timeout=5, source_address=(source, 0))
                answers, retry = [], []
                started = time.monotonic()
                for _ in range(count):
                    c.request("GET", "/", headers={"Host": "shop"})
                    r = c.getresponse(); r.read()
                    answers.append(r.status)
                    if r.status == 429: retry.append(r.getheader("Retry-After"))
                    time.sleep(spacing)
                results[source] = {"answers": answers, "retry": retry, "seconds": time.monotonic() - started}
            threads = [threading.Thread(target=send, args=a) for a in (("\(busy)", 30, 0), ("\(calm)", 8, 0.3))]
            [t.start() for t in threads]; [t.join() for t in threads]
            print(json.dumps(results))
            """])
        struct Client: Decodable {
            var answers: [Int]
            var retry: [String?]
            var seconds: Double
        }
        let results = try JSONDecoder().decode([String: Client].self, from: Data(output.utf8))
        let busyResult = try #require(results[busy]), calmResult = try #require(results[calm])
        let served = busyResult.answers.filter { $0 == 200 }.count
        // The burst of 5, then what 5/s refills while it sends.
        #expect(served >= 5 && served <= 5 + Int(5 * busyResult.seconds) + 1, "busy: \(busyResult)")
        #expect(busyResult.answers.allSatisfy { $0 == 200 || $0 == 429 } && served < 30, "busy: \(busyResult.answers)")
        #expect(busyResult.retry.allSatisfy { Int($0 ?? "") ?? 0 >= 1 }, "every 429 says when to come back: \(busyResult.retry)")
        #expect(calmResult.answers == Array(repeating: 200, count: 8), "the other client is untouched: \(calmResult.answers)")
        // The access log has the refusals too.
        let refused = env.accessLogLines().filter { $0["status"] as? Int == 429 }.count
        #expect(refused == 30 - served, "429 lines: \(refused)")
    }
}
