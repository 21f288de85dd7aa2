import ArgumentParser
import Dataplane
import Foundation
import NetAddress
import NetLab

/// Time and peak memory for `routelet agent` to converge N routes from
/// empty, and to apply one changed route; against `ip -batch` installing
/// the same routes into the kernel FIB.
struct ConvergeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "converge",
        abstract: "Programming: routelet agent from empty vs ip -batch, and one changed route.")

    @Option(help: "Route counts, comma-separated (10,000 per RouteTable at most).")
    var routes = "1000,10000,100000,1000000"

    @Option(help: "The table size in which one changed route is timed.")
    var changeIn = 100_000

    struct Row: Codable {
        var routes: Int
        var tables: Int
        var agentSeconds: Double
        var agentPassSeconds: Double
        var agentPeakRSSMiB: Double
        var mapWrites: Int
        var writesPerSecond: Double
        var ipBatchSeconds: Double
        var ratio: Double
        var changeOneRouteSeconds: Double?
    }

    struct Result: Codable {
        var machine: MachineFacts
        var syscallNanoseconds: Double
        var rows: [Row]
    }

    func run() throws {
        guard getuid() == 0 else { throw ValidationError("the converge benchmark needs root (BPF, namespaces)") }
        let syscall = try measureSyscall()
        print(String(format: "one bpf() map update syscall on this machine: %.0f ns", syscall))
        var rows: [Row] = []
        for count in routes.split(separator: ",").compactMap({ Int($0) }) {
            let row = try measure(count: count, timeChange: count == changeIn)
            rows.append(row)
            print(String(format: "  %8d routes (%d tables): agent %.2f s (pass %.2f s, %.0f writes/s, peak RSS %.0f MiB), ip -batch %.2f s, ratio %.2f%@",
                         row.routes, row.tables, row.agentSeconds, row.agentPassSeconds, row.writesPerSecond, row.agentPeakRSSMiB,
                         row.ipBatchSeconds, row.ratio, row.changeOneRouteSeconds.map { String(format: "; one changed route: %.3f s", $0) } ?? ""))
        }
        try writeResult(Result(machine: .current(), syscallNanoseconds: syscall, rows: rows), name: "converge")
    }

    /// The cost of one BPF_MAP_UPDATE_ELEM on a small hash map (rl_ifaces).
    func measureSyscall() throws -> Double {
        let pins = "/sys/fs/bpf/rlbench-syscall-\(getpid())"
        defer {
            Dataplane.removePins(in: pins)
        }
        let maps = try Dataplane(pinDirectory: pins).maps
        let count = 200_000
        let start = ContinuousClock.now
        for index in 0..<count { try maps.bind(ifindex: UInt32(index % 1024), table: 1) }
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.attoseconds / 1_000_000_000 + elapsed.components.seconds * 1_000_000_000) / Double(count)
    }

    func measure(count: Int, timeChange: Bool) throws -> Row {
        let ns = try NetworkNamespace("conv")
        let id = "\(getpid())-\(count)"
        let pins = "/sys/fs/bpf/rlbench-\(id)", manifests = NSTemporaryDirectory() + "rlbench-manifests-\(id)"
        let stateDir = NSTemporaryDirectory() + "rlbench-state-\(id)"
        defer {
            _ = try? Command.runAllowingFailure([routeletExecutable, "cleanup", "--netns", ns.name, "--bpffs-dir", pins])
            ns.delete()
            try? FileManager.default.removeItem(atPath: manifests)
            try? FileManager.default.removeItem(atPath: stateDir)
        }
        let prefixes = internetLikePrefixes(count: count, family: .v4, seed: UInt64(count))
        let perTable = 10_000
        let tables = (count + perTable - 1) / perTable
        // An interface may belong to one table only: one ingress per table.
        var links = "link add out0 type veth peer name out1\nlink set out0 up\nlink set out1 up\naddr add 198.18.0.1/24 dev out0\n"
        for table in 0..<tables {
            links += "link add in\(table) type veth peer name peer\(table)\nlink set in\(table) up\nlink set peer\(table) up\n"
        }
        try Command.run(["ip", "-n", ns.name, "-batch", "-"], input: links)
        try FileManager.default.createDirectory(atPath: manifests, withIntermediateDirectories: true)
        for table in 0..<tables {
            let slice = prefixes[(table * perTable)..<min(count, (table + 1) * perTable)]
            try manifest(name: "bench-\(table)", interface: "in\(table)", prefixes: Array(slice)).write(toFile: "\(manifests)/t\(table).yaml", atomically: true, encoding: .utf8)
        }

        // Baseline: the kernel FIB, same routes.
        let batch = prefixes.map { "route replace \($0) via 198.18.0.2 dev out0" }.joined(separator: "\n") + "\n"
        let kernelStart = Date()
        try Command.run(["ip", "-n", ns.name, "-batch", "-"], input: batch)
        let ipBatch = Date().timeIntervalSince(kernelStart)

        let started = Date()
        let agent = try startAgent(namespace: ns, manifests: manifests, pins: pins, stateDir: stateDir)
        defer { agent.stop() }
        let first = try agent.waitForPass(1, timeout: 600)
        let agentSeconds = Date().timeIntervalSince(started)
        let rss = agent.peakRSSMiB()
        let writes = Int(first["writes"] ?? "") ?? 0
        var installed = agent.installedPrefixes()
        for _ in 0..<500 where installed != count {   // status lines follow the pass line
            Thread.sleep(forTimeInterval: 0.01)
            installed = agent.installedPrefixes()
        }
        guard installed == count else { throw BenchError("the agent installed \(installed) of \(count) prefixes") }
        let passSeconds = (Double((first["duration"] ?? "").replacingOccurrences(of: " ms", with: "").replacingOccurrences(of: ",", with: "")) ?? 0) / 1000

        var change: Double?
        if timeChange {
            let path = "\(manifests)/t0.yaml"
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let changeStart = Date()
            try text.replacingOccurrences(
                of: "gateway: 198.18.0.2, interface: out0, metric: 0}", with: "gateway: 198.18.0.3, interface: out0, metric: 0}",
                options: [], range: text.range(of: "gateway: 198.18.0.2, interface: out0, metric: 0}"))
                .write(toFile: path, atomically: true, encoding: .utf8)
            try agent.waitForPass(where: { $0["trigger"] == "tables" && $0["writes"] != "0" }, timeout: 120)
            change = Date().timeIntervalSince(changeStart)
        }
        return Row(routes: count, tables: tables, agentSeconds: agentSeconds, agentPassSeconds: passSeconds, agentPeakRSSMiB: rss,
                   mapWrites: writes, writesPerSecond: passSeconds > 0 ? Double(writes) / passSeconds : 0,
                   ipBatchSeconds: ipBatch, ratio: agentSeconds / max(ipBatch, 0.001), changeOneRouteSeconds: change)
    }

    func manifest(name: String, interface: String, prefixes: [IPPrefix]) -> String {
        var text = "apiVersion: routelet.dev/v1alpha1\nkind: RouteTable\nmetadata: {name: \(name)}\nspec:\n  interfaces: [\(interface)]\n  routes:\n"
        for (index, prefix) in prefixes.enumerated() {
            // The first route is marked with metric 0 so the change test finds it.
            text += "  - {destination: \(prefix), gateway: 198.18.0.2, interface: out0, metric: \(index == 0 ? 0 : 1)}\n"
        }
        return text
    }
}
