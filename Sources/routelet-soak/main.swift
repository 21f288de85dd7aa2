import ArgumentParser
import Foundation
import NetLab

/// `make soak`: the three-node cluster and its gateway node under traffic and faults (NetLab's
/// Soak, docs/soak.md); the report goes to bench/results/soak.json.
struct SoakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routelet-soak",
        abstract: "Run the three-node cluster and a gateway node under continuous traffic while faults are injected; report what held.",
        discussion: """
            Needs root (network namespaces, BPF) and the routelet executable beside this one. Every fault kind \
            comes in turn, in a random order each round; after each one the soak waits until every node has \
            converged again. Exit status 1 when any check failed. SOAK_SEED replays a run's order of faults.
            """)

    @Option(help: "How long to inject faults, in minutes (fractions allowed).")
    var minutes: Double = 10

    @Option(help: ArgumentHelp("Where to write the JSON report.", valueName: "path"))
    var report = "bench/results/soak.json"

    @Option(help: "Seed of the fault order and pauses (default: $SOAK_SEED, else random).")
    var seed: UInt64?

    func validate() throws {
        guard minutes > 0 else { throw ValidationError("--minutes must be positive") }
        guard getuid() == 0 else { throw ValidationError("the soak needs root (network namespaces, BPF)") }
    }

    func run() throws {
        let seed = seed ?? ProcessInfo.processInfo.environment["SOAK_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64.max)
        // Progress lines as they happen, also into a pipe or a file (print buffers those).
        let result = try Soak(seconds: minutes * 60, seed: seed) { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }.run()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileManager.default.createDirectory(atPath: (report as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try encoder.encode(result).write(to: URL(fileURLWithPath: report))
        print("soak: \(String(format: "%.0f", result.seconds)) s, faults \(result.faults.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        for (name, check) in result.checks.sorted(by: { $0.key < $1.key }) {
            print("  \(check.failed == 0 ? "ok  " : "FAIL") \(name): \(check.passed) passed, \(check.failed) failed")
        }
        for (name, traffic) in result.gateway.sorted(by: { $0.key < $1.key }) { print("  gateway \(name): \(traffic)") }
        for (name, memory) in result.memory.sorted(by: { $0.key < $1.key }) {
            print("  memory \(name): at most \(memory.maxMiB) MiB, "
                  + (memory.growthMiBPerHour.map { "growth \($0) MiB/h" } ?? "growth not measured (longest life \(Int(memory.longestLifeSeconds)) s)"))
        }
        print("  worst convergence after a fault: " + result.worstConvergenceSeconds.sorted { $0.key < $1.key }
            .map { "\($0.key) \(String(format: "%.2f", $0.value)) s" }.joined(separator: ", "))
        print("report: \(report) (seed \(seed); SOAK_SEED=\(seed) replays the order of faults)")
        if !result.failed.isEmpty { throw ExitCode(1) }
    }
}

SoakCommand.main()
