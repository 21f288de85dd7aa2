import Foundation
import PackagePlugin

/// Compiles the BPF programs in bpf/ and embeds them in the target that
/// uses this plugin, so that a plain `swift build` yields a binary that
/// carries its data plane. All compiler flags live in bpf/Makefile. The
/// agent's targets get the router; the benchmark gets its baselines.
@main
struct BPFObjectsPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let bpfDirectory = context.package.directoryURL.appending(path: "bpf")
        let output = context.pluginWorkDirectoryURL.appending(path: "BPFObjects.swift")
        let programs = target.name == "routelet-bench" ? "bench_router bench_empty bench_fib" : "router"
        let sources = try FileManager.default
            .subpathsOfDirectory(atPath: bpfDirectory.path)
            .filter { $0.hasSuffix(".c") || $0.hasSuffix(".h") || $0 == "Makefile" }
            .map { bpfDirectory.appending(path: $0) }
        return [
            .buildCommand(
                displayName: "Compiling BPF programs (bpf/Makefile)",
                executable: URL(filePath: "/usr/bin/make"),
                arguments: ["-s", "-C", bpfDirectory.path, "O=\(context.pluginWorkDirectoryURL.path)", "PROGRAMS=\(programs)"],
                inputFiles: sources,
                outputFiles: [output]
            ),
        ]
    }
}
