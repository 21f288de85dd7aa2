import Foundation
import PackagePlugin

/// Compiles the BPF programs in bpf/ (or, for the API server, takes the
/// CRDs of crds/) and embeds them in the target that
/// uses this plugin, so that a plain `swift build` yields a binary that
/// carries its data plane. All compiler flags live in bpf/Makefile. The
/// agent's targets get the router; the benchmark gets its baselines.
@main
struct BPFObjectsPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        if target.name == "APIServer" { return try embedCRDs(context: context) }
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

    /// The API server serves the CRDs of crds/, embedded the same way.
    func embedCRDs(context: PluginContext) throws -> [Command] {
        let directory = context.package.directoryURL.appending(path: "crds")
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedFiles.swift")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".yaml") }
            .map { directory.appending(path: $0) }
        let script = context.package.directoryURL.appending(path: "scripts/embed-files.sh")
        return [
            .buildCommand(
                displayName: "Embedding the CRDs (crds/*.yaml)",
                executable: URL(filePath: "/bin/sh"),
                arguments: [script.path, output.path, directory.path],
                inputFiles: files + [script],
                outputFiles: [output]
            ),
        ]
    }
}
