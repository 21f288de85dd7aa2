import Foundation
import NetLab
import Testing

/// The python scripts beside this file.
func pythonScript(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("python/\(name)").path
}

/// The official Python client (Debian's python3-kubernetes), and a write
/// storm killed with SIGKILL.
@Suite(.serialized) struct PythonClientTests {
    @Test func listWatchConflictAndExpiredWithTheOfficialClient() throws {
        // A short history, so that resourceVersion 1 is compacted away.
        let server = try ServerProcess(extraArguments: ["--watch-history", "5"])
        defer { server.stop() }
        let result = try Command.runAllowingFailure(["/usr/bin/python3", pythonScript("client_test.py"), server.kubeconfig])
        #expect(result.status == 0, "python client test failed:\n\(result.stdout)\n\(result.stderr)\nserver log:\n\(server.log())")
        #expect(result.stdout.split(separator: "\n").filter { $0.hasPrefix("ok:") }.count == 6, "\(result.stdout)")
    }

    @Test func killMinusNineDuringAWriteStormLosesNothingAcknowledged() throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let storm = try Command.start(["/usr/bin/python3", pythonScript("write_storm.py"), server.kubeconfig, "8", "storm"])
        Thread.sleep(forTimeInterval: 3)
        kill(server.process.processIdentifier, SIGKILL)
        server.process.waitUntilExit()
        let output = storm.wait()
        let acknowledged = output.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
            let fields = line.split(separator: " ")
            return fields.count == 3 && fields[0] == "ACK" ? (String(fields[1]), String(fields[2])) : nil
        }
        #expect(acknowledged.count > 20, "too few writes to mean anything: \(acknowledged.count)\n\(output.stderr)")

        try server.start()
        let listed = try server.kubectl(["get", "rt", "-o", "jsonpath={range .items[*]}{.metadata.name} {.metadata.resourceVersion}{\"\\n\"}{end}"])
        #expect(listed.status == 0, "\(listed.stderr)")
        var stored: [String: String] = [:]
        for line in listed.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2 { stored[String(fields[0])] = String(fields[1]) }
        }
        for (name, version) in acknowledged {
            #expect(stored[name] == version, "acknowledged \(name) at \(version), found \(stored[name] ?? "nothing")")
        }
        print("write storm: \(acknowledged.count) acknowledged writes, all present after kill -9")
    }
}
