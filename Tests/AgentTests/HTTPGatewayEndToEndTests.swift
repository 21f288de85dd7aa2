import Foundation
import NetLab
import Testing

/// HTTP GatewayRoutes end to end: `routelet agent --manifests --gateway
/// child` in the gateway lab's gateway namespace starts `routelet gateway`,
/// the eBPF stage hands the listener's packets to it, and the backends'
/// HTTP servers answer with their name and the request they saw.
extension GatewayAgentLab {
    var accessLog: String { stateDir + "/access.log" }

    func startHTTPAgent() throws -> AgentProcess {
        try AgentProcess(namespace: lab.gateway, arguments: [
            "agent", "--manifests", manifests, "--node-name", "lab-gateway", "--bpffs-dir", pins, "--state-dir", stateDir,
            "--metrics-addr", "127.0.0.1:9464", "--gateway", "child", "--access-log", accessLog,
            "--gateway-metrics-addr", "127.0.0.1:9478",
        ])
    }

    /// Requests from the client over one kept-alive connection: (path,
    /// headers) each; returns (status, backend or body) per request.
    func requests(_ requests: [(String, [String: String])], host: String = "api.example.com") throws -> [(Int, String)] {
        let list = requests.map { ["path": $0.0, "headers": $0.1] as [String: Any] }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: list), as: UTF8.self)
        let output = try lab.client.run([Traffic.python, "-c", """
            import http.client, json, sys
            todo = json.loads(sys.argv[1])
            c = http.client.HTTPConnection("\(GatewayLab.listener)", 80, timeout=5)
            out = []
            for r in todo:
                headers = dict(r["headers"]); headers["Host"] = "\(host)"
                try:
                    c.request("GET", r["path"], headers=headers)
                    response = c.getresponse(); body = response.read().decode()
                    try: who = json.loads(body)["backend"]
                    except Exception: who = body.strip()
                    out.append([response.status, who])
                except Exception as e:
                    out.append([0, "error: %r" % e]); c.close()
                    c = http.client.HTTPConnection("\(GatewayLab.listener)", 80, timeout=5)
            print(json.dumps(out))
            """, json])
        let decoded = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[Any]] ?? []
        return decoded.map { ($0[0] as? Int ?? -1, $0[1] as? String ?? "") }
    }

    /// A steady load: `connections` kept-alive connections sending requests
    /// for `seconds`; `wait()` prints {"ok": n, "failed": [..], "statuses": {..}, "connections": n}.
    func startLoad(seconds: Double, connections: Int = 4, path: String = "/users/1",
                   headers: [String: String] = ["X-User-Role": "admin", "X-Region": "us-west"]) throws -> Command.Background {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: headers), as: UTF8.self)
        return try lab.client.start([Traffic.python, "-c", """
            import http.client, json, sys, threading, time
            headers = json.loads(sys.argv[1]); headers["Host"] = "api.example.com"
            result = {"ok": 0, "failed": [], "statuses": {}, "connections": 0}
            lock = threading.Lock()
            def run():
                c = http.client.HTTPConnection("\(GatewayLab.listener)", 80, timeout=5)
                with lock: result["connections"] += 1
                end = time.time() + \(seconds)
                while time.time() < end:
                    try:
                        c.request("GET", "\(path)", headers=headers)
                        r = c.getresponse(); r.read()
                        with lock:
                            result["statuses"][str(r.status)] = result["statuses"].get(str(r.status), 0) + 1
                            if r.status == 200: result["ok"] += 1
                            else: result["failed"].append("status %d" % r.status)
                    except Exception as e:
                        with lock: result["failed"].append(repr(e))
                        c.close(); c = http.client.HTTPConnection("\(GatewayLab.listener)", 80, timeout=5)
                        with lock: result["connections"] += 1
                    time.sleep(0.002)
            threads = [threading.Thread(target=run) for _ in range(\(connections))]
            [t.start() for t in threads]; [t.join() for t in threads]
            result["failed"] = result["failed"][:10]
            print(json.dumps(result))
            """, json])
    }

    struct Load: Decodable {
        var ok: Int
        var failed: [String]
        var statuses: [String: Int]
        var connections: Int
    }

    func finish(_ load: Command.Background) throws -> Load {
        let result = load.wait()
        guard result.status == 0 else { throw HarnessError("load client failed: \(result.stderr)") }
        return try JSONDecoder().decode(Load.self, from: Data(result.stdout.utf8))
    }

    /// The access log's lines, decoded.
    func accessLogLines() -> [[String: Any]] {
        let text = (try? String(contentsOfFile: accessLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Waits until the gateway serves the agent's latest snapshot.
    func waitForGatewayServing(timeout: Double = 20) throws {
        let done = try waitUntil(timeout, every: 0.05) {
            guard let snapshot = try? Data(contentsOf: URL(fileURLWithPath: stateDir + "/gateway/snapshot.json")),
                  let status = try? Data(contentsOf: URL(fileURLWithPath: stateDir + "/gateway/gateway-status.json")),
                  let written = (try JSONSerialization.jsonObject(with: snapshot) as? [String: Any])?["version"] as? Int,
                  let served = (try JSONSerialization.jsonObject(with: status) as? [String: Any])?["version"] as? Int else { return false }
            return served >= written
        }
        if done == nil { throw HarnessError("routelet gateway never served the snapshot; agent status: \(String(describing: status()))") }
    }
}

/// The seed example of issue 12 in the lab: /users with X-User-Role: admin
/// and X-Region: us-west goes to b1; the same path without them is 404; a
/// 70/30/0 canary on /canary.
func usersHTTPRoute(canary: (Int, Int, Int) = (70, 30, 0)) -> String {
    func backend(_ index: Int, weight: Int) -> String {
        "    - {addresses: [\(GatewayLab.backendAddress(index))], port: \(GatewayLab.httpPort), weight: \(weight)}"
    }
    return """
    apiVersion: routelet.dev/v1alpha1
    kind: GatewayRoute
    metadata: {name: users, namespace: default}
    spec:
      interfaces: [gc]
      listener: {address: \(GatewayLab.listener), port: 80, protocol: HTTP}
      hostnames: [api.example.com]
      accessLog: {headers: [X-User-Role, X-Region, X-Long]}
      rules:
      - matches:
        - path: {type: PathPrefix, value: /users}
          headers: [{name: X-User-Role, value: admin}, {name: X-Region, value: us-west}]
        backends:
    \(backend(0, weight: 1))
      - matches:
        - path: {value: /canary}
        backends:
    \(backend(0, weight: canary.0))
    \(backend(1, weight: canary.1))
    \(backend(2, weight: canary.2))
    """
}

@Suite(.serialized) struct HTTPGatewayEndToEndTests {
    @Test func headerRoutingCanaryWeightsAndTheAccessLogThroughTheHandoff() throws {
        let env = try GatewayAgentLab()
        defer { env.tearDown() }
        try env.write("users.yaml", usersHTTPRoute())
        let agent = try env.startHTTPAgent()
        defer { agent.stop() }
        try env.waitForGatewayServing()

        let admin = ["X-User-Role": "admin", "X-Region": "us-west", "X-Long": String(repeating: "y", count: 300)]
        let answers = try env.requests([
            ("/users/7", admin),
            ("/users/7", [:]),
            ("/users/7", ["x-user-role": "admin", "X-REGION": "us-west"]),
            ("/usersx", admin),
            ("/nothing", admin),
        ])
        #expect(answers.map(\.0) == [200, 404, 200, 404, 404], "\(answers)")
        #expect(answers[0].1 == "b1" && answers[2].1 == "b1", "\(answers)")

        // 500 requests over one connection: smooth weighted round robin holds 70/30/0 closely.
        let canary = try env.requests(Array(repeating: ("/canary", [:]), count: 500))
        var counts: [String: Int] = [:]
        for (status, backend) in canary where status == 200 { counts[backend, default: 0] += 1 }
        #expect(abs(Double(counts["b1"] ?? 0) / 500 - 0.7) <= 0.05 && abs(Double(counts["b2"] ?? 0) / 500 - 0.3) <= 0.05,
                "70/30/0: \(counts)")
        #expect(counts["b3"] == nil, "weight 0 takes no request: \(counts)")

        // The access log: the route's headers as sent, an absent one absent, values cut at 256 bytes.
        let lines = env.accessLogLines()
        let first = try #require(lines.first { ($0["path"] as? String) == "/users/7" && ($0["status"] as? Int) == 200 })
        let headers = first["headers"] as? [String: String] ?? [:]
        #expect(headers["X-User-Role"] == "admin" && headers["X-Region"] == "us-west", "\(first)")
        #expect(headers["X-Long"]?.utf8.count == 256, "\(first)")
        #expect(first["route"] as? String == "users" && first["namespace"] as? String == "default" && first["rule"] as? Int == 0)
        let notFound = try #require(lines.first { ($0["status"] as? Int) == 404 && ($0["path"] as? String) == "/users/7" })
        #expect((notFound["headers"] as? [String: String] ?? [:]).isEmpty, "no header sent, none logged: \(notFound)")

        // The backend saw the client's address, not only the gateway's.
        let seen = try env.lab.client.run([Traffic.python, "-c", """
            import http.client, json
            c = http.client.HTTPConnection("\(GatewayLab.listener)", 80, timeout=5)
            c.request("GET", "/users/1", headers={"Host": "api.example.com", "X-User-Role": "admin", "X-Region": "us-west"})
            print(c.getresponse().read().decode())
            """])
        let received = try JSONSerialization.jsonObject(with: Data(seen.utf8)) as? [String: Any]
        let forwarded = received?["headers"] as? [String: String] ?? [:]
        #expect(forwarded["x-forwarded-for"] == GatewayLab.clientAddress && forwarded["x-forwarded-proto"] == "http", "\(forwarded)")
        #expect(forwarded["host"] == "api.example.com")

        // Status: Programmed once the gateway serves the snapshot.
        let programmed = waitUntil(5, every: 0.05) { env.status()?.gatewayRoutes.first?.programmed == true }
        #expect(programmed != nil, "\(String(describing: env.status()?.gatewayRoutes))")
    }

    @Test func configChangesAndAnAgentKilledUnderLoadFailNoRequestAndARestartedGatewayServesAtOnce() throws {
        let env = try GatewayAgentLab()
        defer { env.tearDown() }
        try env.write("users.yaml", usersHTTPRoute())
        var agent = try env.startHTTPAgent()
        defer { agent.stop() }
        try env.waitForGatewayServing()
        let gateway = try #require(agent.gatewayPID, "the agent started a gateway")

        // A new snapshot under load (the canary's weights change), then the agent killed with -9 and restarted.
        let load = try env.startLoad(seconds: 6)
        Thread.sleep(forTimeInterval: 1)
        try env.write("users.yaml", usersHTTPRoute(canary: (50, 50, 0)))
        Thread.sleep(forTimeInterval: 1.5)
        kill(agent.process.processIdentifier, SIGKILL)
        agent.process.waitUntilExit()
        Thread.sleep(forTimeInterval: 1)
        agent = try env.startHTTPAgent()
        try agent.waitForLog("the gateway adopted") { $0["msg"] == "routelet gateway already running; adopted" }
        let result = try env.finish(load)
        #expect(result.failed.isEmpty && result.ok > 200, "\(result)")
        #expect(result.connections == 4, "no connection was reset: \(result)")
        #expect(agent.gatewayPID == gateway, "the same gateway kept serving")

        // The gateway killed: the agent starts a new one, which serves the last snapshot at once.
        kill(gateway, SIGKILL)
        let restarted = try waitUntil(15, every: 0.05) { (agent.gatewayPID ?? gateway) != gateway }
        #expect(restarted != nil, "the agent restarted the gateway")
        let served = try waitUntil(10, every: 0.05) {
            (try? env.requests([("/users/1", ["X-User-Role": "admin", "X-Region": "us-west"])]))?.first?.0 == 200
        }
        #expect(served != nil, "the new gateway serves the last snapshot")
    }
}
