import ArgumentParser
import Foundation
import NetLab

/// Forwarding through the namespace lab's router, routelet (kernel
/// forwarding off, the eBPF router on ra and rb) against the kernel
/// (`ip_forward=1`, the same connected routes): iperf3 TCP with one and
/// four streams, and the receive rate of 64-byte UDP frames.
struct ForwardBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Forwarding: routelet vs kernel forwarding, iperf3 TCP (1 and 4 streams) and 64-byte UDP packet rate.")

    @Option(help: "Seconds per iperf3 run.")
    var seconds = 5

    @Option(help: "Runs per test and mode (median and spread are reported).")
    var repeats = 5

    typealias Sample = ComparisonSample

    typealias Row = ComparisonRow

    struct Result: Codable {
        var machine: MachineFacts
        var secondsPerRun: Int
        var repeats: Int
        var rows: [Row]
        var samples: [Sample]
    }

    /// What iperf3 measures, and how its JSON report is read.
    enum Test: String, CaseIterable {
        case tcp1 = "TCP, 1 stream"
        case tcp4 = "TCP, 4 streams"
        case udp64 = "UDP, 64-byte frames"

        var unit: String { self == .udp64 ? "kpps received" : "Gbit/s" }

        var clientArguments: [String] {
            switch self {
            case .tcp1: []
            case .tcp4: ["-P", "4"]
            // 18 bytes of payload + UDP 8 + IPv4 20 + Ethernet 14 = 60, 64 on a wire with FCS.
            case .udp64: ["-u", "-b", "0", "-l", "18"]
            }
        }

        func value(from report: [String: Any]) -> Double? {
            let end = report["end"] as? [String: Any]
            switch self {
            case .tcp1, .tcp4:
                return ((end?["sum_received"] as? [String: Any])?["bits_per_second"] as? Double).map { $0 / 1e9 }
            case .udp64:
                guard let sum = end?["sum"] as? [String: Any], let packets = sum["packets"] as? Double,
                      let lost = sum["lost_packets"] as? Double, let seconds = sum["seconds"] as? Double, seconds > 0 else { return nil }
                return (packets - lost) / seconds / 1000
            }
        }
    }

    func run() throws {
        guard getuid() == 0 else { throw ValidationError("the forward benchmark needs root (namespaces, BPF)") }
        guard (try? Command.run(["iperf3", "--version"])) != nil else {
            throw ValidationError("iperf3 is missing: apt-get install iperf3 (make bench installs it)")
        }
        let lab = try RouterLab()
        let id = "\(getpid())"
        let pins = "/sys/fs/bpf/rlbench-forward-\(id)", work = NSTemporaryDirectory() + "rlbench-forward-\(id)"
        var agent: RouteletProcess?
        defer {
            agent?.stop()
            _ = try? Command.runAllowingFailure([routeletExecutable, "cleanup", "--netns", lab.router.name, "--bpffs-dir", pins])
            lab.delete()
            try? FileManager.default.removeItem(atPath: work)
        }
        let serverAddress = RouterLab.address(host: 2).v4
        var samples: [Sample] = []

        // The kernel first, with forwarding on and no program attached.
        try lab.router.sysctl("net.ipv4.ip_forward=1")
        try measureAll(mode: "kernel", lab: lab, server: serverAddress, into: &samples)
        try lab.router.sysctl("net.ipv4.ip_forward=0")

        // routelet: the agent programs the lab's table (kernel forwarding off).
        try FileManager.default.createDirectory(atPath: "\(work)/manifests", withIntermediateDirectories: true)
        try Self.labManifest.write(toFile: "\(work)/manifests/lab.yaml", atomically: true, encoding: .utf8)
        agent = try startAgent(namespace: lab.router, manifests: "\(work)/manifests", pins: pins, stateDir: "\(work)/state")
        try agent?.waitForPass(1, timeout: 30)
        try measureAll(mode: "routelet", lab: lab, server: serverAddress, into: &samples)

        var rows: [Row] = []
        print("")
        func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
        print(pad("test", 22) + pad("routelet: median (min-max)", 30) + pad("kernel: median (min-max)", 30) + "routelet/kernel")
        for test in Test.allCases {
            let ours = samples.filter { $0.mode == "routelet" && $0.test == test.rawValue }.map(\.value)
            let theirs = samples.filter { $0.mode == "kernel" && $0.test == test.rawValue }.map(\.value)
            let row = Row(test: test.rawValue, unit: test.unit,
                          routeletMedian: median(ours), routeletMin: ours.min() ?? 0, routeletMax: ours.max() ?? 0,
                          kernelMedian: median(theirs), kernelMin: theirs.min() ?? 0, kernelMax: theirs.max() ?? 0,
                          ratio: median(ours) / max(median(theirs), 1e-9))
            rows.append(row)
            print(pad(test.rawValue, 22)
                + pad(String(format: "%.2f (%.2f-%.2f)", row.routeletMedian, row.routeletMin, row.routeletMax), 30)
                + pad(String(format: "%.2f (%.2f-%.2f)", row.kernelMedian, row.kernelMin, row.kernelMax), 30)
                + String(format: "%.2f  [%@]", row.ratio, test.unit))
        }
        try writeResult(Result(machine: .current(), secondsPerRun: seconds, repeats: repeats, rows: rows, samples: samples), name: "forward")
    }

    func measureAll(mode: String, lab: RouterLab, server: String, into samples: inout [Sample]) throws {
        // Both modes must forward before anything is timed.
        guard try Traffic.ping(from: lab.hostA, server, count: 2) == 2 else { throw BenchError("\(mode): A cannot reach B") }
        for test in Test.allCases {
            for run in 1...repeats {
                let value = try iperf(test, lab: lab, server: server)
                samples.append(Sample(mode: mode, test: test.rawValue, value: value))
                print(String(format: "  %@ %@ run %d: %.2f %@", mode, test.rawValue, run, value, test.unit))
            }
        }
    }

    /// One iperf3 run from A to B through the router.
    func iperf(_ test: Test, lab: RouterLab, server: String) throws -> Double {
        let listener = try lab.hostB.start(["iperf3", "-s", "-1", "-B", server])
        defer { _ = listener.stop() }
        var output = ""
        for attempt in 0..<50 {
            // The server needs a moment to listen.
            let result = try lab.hostA.runAllowingFailure(["iperf3", "-c", server, "-t", "\(seconds)", "-J"] + test.clientArguments)
            output = result.stdout
            // iperf3 -J reports some failures (the server not listening yet) in "error", with status 0.
            if result.status == 0, !output.contains("\"error\":") { break }
            guard attempt < 49 else { throw BenchError("iperf3 \(test.rawValue) failed: \(result.stdout) \(result.stderr)") }
            Thread.sleep(forTimeInterval: 0.1)
        }
        guard let report = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
              let value = test.value(from: report) else {
            throw BenchError("cannot read iperf3's report for \(test.rawValue): \(output.prefix(300))")
        }
        return value
    }

    /// A and B's subnets on-link; what the kernel has as connected routes.
    static let labManifest = """
        apiVersion: routelet.dev/v1alpha1
        kind: RouteTable
        metadata: {name: forward}
        spec:
          interfaces: [ra, rb]
          routes:
          - {destination: 198.18.1.0/24, interface: ra}
          - {destination: 198.18.2.0/24, interface: rb}
        """
}
