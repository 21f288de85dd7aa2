import ArgumentParser
import Dataplane
import Foundation
import JSONValue
import KubeClient
import NetAddress
import NetLab

/// Apply-to-programmed latency through `routelet standalone`: from the
/// moment a RouteTable write is sent to the API server until its route is
/// in the pinned map. Baseline: the API write's own round trip, measured on
/// the same writes, so the ratio says how much the agent adds.
struct ApplyLatencyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply-latency",
        abstract: "Apply-to-programmed latency through routelet standalone: p50/p90/p99 over many changes.")

    @Option(help: "Changes to time.")
    var changes = 500

    struct Result: Codable {
        var machine: MachineFacts
        var changes: Int
        var applyMilliseconds: Percentiles
        var writeRoundTripMilliseconds: Percentiles
        var ratioP50: Double
        var samplesApplyMilliseconds: [Double]
        var samplesWriteMilliseconds: [Double]
    }

    struct Percentiles: Codable {
        var p50: Double
        var p90: Double
        var p99: Double
        var max: Double

        init(_ samples: [Double]) {
            let sorted = samples.sorted()
            func at(_ q: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.down)))] }
            p50 = at(0.5)
            p90 = at(0.9)
            p99 = at(0.99)
            max = sorted.last ?? 0
        }
    }

    func run() async throws {
        guard getuid() == 0 else { throw ValidationError("the apply-latency benchmark needs root (BPF, namespaces)") }
        let lab = try RouterLab()
        let id = "\(getpid())"
        let pins = "/sys/fs/bpf/rlbench-latency-\(id)", work = NSTemporaryDirectory() + "rlbench-latency-\(id)"
        var standalone: RouteletProcess?
        defer {
            standalone?.stop()
            _ = try? Command.runAllowingFailure([routeletExecutable, "cleanup", "--netns", lab.router.name, "--bpffs-dir", pins])
            lab.delete()
            try? FileManager.default.removeItem(atPath: work)
        }
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let started = try RouteletProcess(namespace: lab.router, arguments: [
            "standalone", "--listen", "127.0.0.1:6443", "--data-dir", "\(work)/api", "--kubeconfig-out", "\(work)/kubeconfig",
            "--node-name", "bench", "--bpffs-dir", pins, "--state-dir", "\(work)/state", "--resync-period", "10m", "--metrics-addr", "",
        ])
        standalone = started
        try started.waitForLog("the Node registration", timeout: 30) { $0["msg"] == "Node registered" }

        // The client's one transfer thread must live in the router's namespace, where the server listens.
        try lab.router.enter { KubeClient.startTransport() }
        let client = try KubeClient(config: KubeConfig.load(path: "\(work)/kubeconfig"))
        let maps = try waitFor("the data plane") { try? RouterMaps.openPinned(directory: pins) }

        var applies: [Double] = [], writes: [Double] = []
        do {
            _ = try await client.create(.routeTables, table(prefix: "10.255.0.0/24"))
            _ = try waitFor("the first route", timeout: 30) { try? installed(maps, "10.255.0.0/24") ? true : nil }
            for index in 0..<changes {
                let prefix = "10.\(index / 256).\(index % 256).0/24"
                // A merge patch, like `kubectl patch`: the aggregator's status
                // writes do not make it conflict.
                let start = ContinuousClock.now
                _ = try await client.patch(.routeTables, name: "latency", merge: ["spec": table(prefix: prefix)["spec"]!])
                let written = ContinuousClock.now
                while try !installed(maps, prefix) {
                    guard ContinuousClock.now - start < .seconds(30) else { throw BenchError("\(prefix) was not programmed within 30 s") }
                    usleep(50)
                }
                let done = ContinuousClock.now
                applies.append(milliseconds(done - start))
                writes.append(milliseconds(written - start))
                if (index + 1) % 100 == 0 { print("  \(index + 1)/\(changes) changes") }
            }
        }
        let apply = Percentiles(applies), write = Percentiles(writes)
        print(String(format: "apply-to-programmed over %d changes: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms (max %.2f)", changes, apply.p50, apply.p90, apply.p99, apply.max))
        print(String(format: "the API write alone:                p50 %.2f ms, p90 %.2f ms, p99 %.2f ms; apply/write p50 ratio %.1f",
                     write.p50, write.p90, write.p99, apply.p50 / max(write.p50, 0.001)))
        try writeResult(Result(machine: .current(), changes: changes, applyMilliseconds: apply, writeRoundTripMilliseconds: write,
                               ratioP50: apply.p50 / max(write.p50, 0.001), samplesApplyMilliseconds: applies,
                               samplesWriteMilliseconds: writes), name: "apply-latency")
    }

    /// A table on the router's ra with one blackhole route.
    func table(prefix: String) -> JSONValue {
        [
            "apiVersion": "routelet.dev/v1alpha1", "kind": "RouteTable", "metadata": ["name": "latency"],
            "spec": ["interfaces": ["ra"], "routes": [["destination": .string(prefix), "type": "Blackhole"]]],
        ]
    }

    func installed(_ maps: RouterMaps, _ prefix: String) throws -> Bool {
        let wanted = IPPrefix(prefix)!
        return try maps.routes().routes.keys.contains { $0.prefix == wanted }
    }
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

/// Polls `body` every 10 ms until it returns a value.
func waitFor<T>(_ what: String, timeout: Double = 30, _ body: () throws -> T?) throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if let value = try body() { return value }
        Thread.sleep(forTimeInterval: 0.01)
    }
    throw BenchError("no \(what) within \(timeout) s")
}

