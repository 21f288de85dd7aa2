import Foundation
import NetLab

/// The routelet executable built beside this benchmark.
let routeletExecutable = ServerProcess.executable

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `routelet agent --manifests` in a namespace, as the benchmarks run it.
func startAgent(namespace: NetworkNamespace, manifests: String, pins: String, stateDir: String) throws -> RouteletProcess {
    try RouteletProcess(namespace: namespace, arguments: [
        "agent", "--manifests", manifests, "--node-name", "bench", "--bpffs-dir", pins, "--state-dir", stateDir,
        "--resync-period", "10m", "--metrics-addr", "",
    ])
}

extension RouteletProcess {
    @discardableResult
    func waitForPass(_ number: Int, timeout: Double) throws -> [String: String] {
        try waitForPass(where: { $0["pass"] == "\(number)" }, timeout: timeout)
    }

    @discardableResult
    func waitForPass(where predicate: ([String: String]) -> Bool, timeout: Double) throws -> [String: String] {
        try waitForLog("the pass", timeout: timeout) { $0["msg"] == "pass done" && predicate($0) }
    }

    /// Prefixes installed, summed over the "table status" log lines of the
    /// latest status (one line per table).
    func installedPrefixes() -> Int {
        var latest: [String: Int] = [:]
        for line in entries("table status") {
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
}
