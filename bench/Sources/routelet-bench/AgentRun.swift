import Foundation
import NetLab

/// The routelet executable built beside this benchmark.
let routeletExecutable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    .deletingLastPathComponent().appendingPathComponent("routelet").path

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `routelet agent` in a namespace (through nsenter), its JSON log parsed.
final class AgentRun: Sendable {
    let process: Process
    let reader: JSONLogReader

    init(namespace: NetworkNamespace, manifests: String, pins: String, stateDir: String) throws {
        guard FileManager.default.isExecutableFile(atPath: routeletExecutable) else {
            throw BenchError("no routelet executable at \(routeletExecutable); build it (make bench does)")
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        process.arguments = ["--net=/run/netns/\(namespace.name)", routeletExecutable, "agent", "--manifests", manifests,
                             "--node-name", "bench", "--bpffs-dir", pins, "--state-dir", stateDir, "--log-format", "json",
                             "--resync-period", "10m"]
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.runWithDefaultSignalMask()
        reader = JSONLogReader(stderr)
    }

    @discardableResult
    func waitForPass(_ number: Int, timeout: Double) throws -> [String: String] {
        try waitForPass(where: { $0["pass"] == "\(number)" }, timeout: timeout)
    }

    @discardableResult
    func waitForPass(where predicate: ([String: String]) -> Bool, timeout: Double) throws -> [String: String] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = reader.entries("pass done").first(where: predicate) { return line }
            guard process.isRunning else { throw BenchError("the agent exited with \(process.terminationStatus)") }
            Thread.sleep(forTimeInterval: 0.005)
        }
        throw BenchError("the agent did not finish the pass within \(timeout) s")
    }

    /// Prefixes installed, summed over the "table status" log lines of the
    /// latest status (one line per table).
    func installedPrefixes() -> Int {
        var latest: [String: Int] = [:]
        for line in reader.entries("table status") {
            latest[line["table"] ?? ""] = Int(line["installed"] ?? "") ?? 0
        }
        return latest.values.reduce(0, +)
    }

    /// VmHWM: the agent's peak resident memory so far.
    func peakRSSMiB() -> Double {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let kib = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }?
            .split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Double($0) } ?? 0
        return kib / 1024
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
