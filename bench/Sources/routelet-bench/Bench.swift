import ArgumentParser

/// routelet's benchmarks: every figure against a baseline measured in the
/// same run on the same machine (see docs/performance.md).
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routelet-bench",
        abstract: "Measure routelet against the kernel's own routing.",
        subcommands: [LookupBench.self, ConvergeBench.self, ApplyLatencyBench.self, ForwardBench.self, GatewayBench.self, GatewayStageBench.self]
    )
}
