import Agent
import Dataplane
import DataplaneModel
import Foundation
import NetLab
import Testing

/// The access-log lines of `path` with "source":"ebpf", decoded.
private func ebpfLines(_ path: String) -> [[String: Any]] {
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap { line in
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }.filter { $0["source"] as? String == "ebpf" }
}

/// `body`'s first non-nil answer within `timeout` seconds.
private func waitFor<T>(_ timeout: Double, _ body: () throws -> T?) rethrows -> T? {
    let start = Date()
    repeat {
        if let value = try body() { return value }
        Thread.sleep(forTimeInterval: 0.05)
    } while Date().timeIntervalSince(start) < timeout
    return nil
}

extension GatewayEndToEndTests {
    /// A TCP listener with accessLog.headers: curl's requests, each on a
    /// connection of its own, become access-log lines written by the agent
    /// from what the eBPF stage read; a new header list applies to the next
    /// connections without a program reload.
    @Test func headerElementsOfTCPConnectionsAreLoggedFromEBPFAndANewListAppliesWithoutAReload() throws {
        let env = try GatewayAgentLab()
        defer { env.tearDown() }
        try FileManager.default.createDirectory(atPath: env.stateDir, withIntermediateDirectories: true)
        let log = env.stateDir + "/access.log"
        func route(_ headers: [String]) -> String {
            let backends = (0..<3).map { "    - {addresses: [\(GatewayLab.backendAddress($0))], port: \(GatewayLab.httpPort)}" }
            return """
                apiVersion: routelet.dev/v1alpha1
                kind: GatewayRoute
                metadata: {name: shop, namespace: default}
                spec:
                  listener: {address: \(GatewayLab.listener), port: 80, protocol: TCP}
                  accessLog: {headers: [\(headers.joined(separator: ", "))]}
                  rules:
                  - backends:
                \(backends.joined(separator: "\n"))
                """
        }
        try env.write("gw.yaml", route(["X-User-Role", "X-Region", "User-Agent"]))
        let agent = try env.startAgent(extra: ["--access-log", log, "--gateway", "external"])
        defer { agent.stop() }
        do { try env.waitForTable(backends: 3) } catch { Issue.record("agent: \(agent.rawLog)"); throw error }
        // The program's pin: a reload would pin a new one (another inode).
        func programPin() -> UInt64 {
            var info = stat()
            return stat("\(env.pins)/\(Dataplane.programPin)", &info) == 0 ? UInt64(info.st_ino) : 0
        }
        let programID = programPin()
        #expect(programID != 0)

        // 200 requests, each on a new connection (the backend closes it).
        var arguments: [String] = []
        for index in 0..<200 {
            if index > 0 { arguments.append("--next") }
            arguments += ["-o", "/dev/null", "-H", "Connection: close", "-H", "x-user-role: role-\(index)",
                          "-H", "X-REGION: zone-\(index % 3)", "http://\(GatewayLab.listener)/items/\(index)?q=\(index)"]
        }
        let curl = try env.lab.client.runAllowingFailure(["curl", "-sS", "--max-time", "5"] + arguments)
        #expect(curl.status == 0, "curl: \(curl.stderr)")
        let version = try env.lab.client.run(["curl", "--version"]).split(separator: " ").dropFirst().first.map(String.init) ?? ""

        let lines = try #require(waitFor(10) { () -> [[String: Any]]? in
            let lines = ebpfLines(log)
            return lines.count >= 200 ? lines : nil
        }, "200 lines: \(ebpfLines(log).count) arrived")
        #expect(lines.count == 200)
        var seen = Set<Int>()
        for line in lines {
            let path = line["path"] as? String ?? ""
            let index = try #require(Int(path.split(separator: "/").last?.split(separator: "?").first ?? ""), "\(line)")
            seen.insert(index)
            let headers = line["headers"] as? [String: String] ?? [:]
            #expect(headers == ["X-User-Role": "role-\(index)", "X-Region": "zone-\(index % 3)", "User-Agent": "curl/\(version)"], "\(line)")
            #expect(path == "/items/\(index)?q=\(index)" && line["method"] as? String == "GET" && line["version"] as? String == "HTTP/1.1")
            #expect(line["listener"] as? String == "\(GatewayLab.listener):80" && line["route"] as? String == "shop"
                    && line["namespace"] as? String == "default", "\(line)")
            #expect((line["client"] as? String)?.hasPrefix(GatewayLab.clientAddress + ":") == true, "\(line)")
            #expect((line["backend"] as? String).map { $0.hasSuffix(":\(GatewayLab.httpPort)") } == true, "\(line)")
        }
        #expect(seen == Set(0..<200), "every request has its line")

        // A new list: the next connections log it; the program stays.
        try env.write("gw.yaml", route(["X-Region"]))
        let changed = waitUntil(10) { (try? env.gatewayMaps().allCaptureNames().values.first) == CaptureNames(["X-Region"]) }
        #expect(changed != nil, "the agent wrote the new names")
        let again = try env.lab.client.runAllowingFailure(["curl", "-sS", "--max-time", "5", "-o", "/dev/null", "-H", "Connection: close",
                                                           "-H", "X-User-Role: r", "-H", "X-Region: z", "http://\(GatewayLab.listener)/after"])
        #expect(again.status == 0, "\(again.stderr)")
        let after = try #require(waitFor(10) { ebpfLines(log).first { $0["path"] as? String == "/after" } })
        #expect(after["headers"] as? [String: String] == ["X-Region": "z"], "\(after)")
        #expect(programPin() == programID, "no program reload")

        let records = try env.metrics().split(separator: "\n").first { $0.hasPrefix("routelet_gateway_capture_records_total{") }
        #expect(records.flatMap { UInt64($0.split(separator: " ").last ?? "") } == 201, "metrics: \(records ?? "none")")
    }
}
