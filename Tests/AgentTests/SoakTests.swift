import Foundation
import NetLab
import Testing

/// 60 s of the soak (`make soak` runs 10 minutes): the same faults, the
/// same checks. A failure names the seed; SOAK_SEED replays its order.
@Suite(.serialized) struct SoakTests {
    @Test func aMinuteOfFaultsUnderTrafficPassesEveryCheck() throws {
        guard getuid() == 0 else { throw HarnessError("the soak needs root (BPF, namespaces); run `make test` as root, as CI does") }
        let seed = SplitMix64.seed(for: "soak", variable: "SOAK_SEED")
        let report = try Soak(seconds: 60, seed: seed).run()
        let summary = report.checks.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.passed) passed, \($0.value.failed) failed \($0.value.failures)" }
        #expect(report.failed.isEmpty, "seed \(seed):\n\(summary.joined(separator: "\n"))")
        // Every kind of fault came at least once, and every check ran.
        #expect(report.faults.values.allSatisfy { $0 >= 1 }, "\(report.faults)")
        #expect(report.checks.count >= 13, "\(summary)")
        print("soak (60 s): worst convergence \(report.worstConvergenceSeconds), memory \(report.memory.mapValues(\.maxMiB)) MiB, "
              + "agent requests/s \(report.apiRequestsPerSecond)")
    }
}
