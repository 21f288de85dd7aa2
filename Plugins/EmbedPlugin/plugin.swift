import Foundation
import PackagePlugin

/// Embeds what a target needs at run time into its binary, so that a plain
/// `swift build` yields a binary that finds everything: the BPF programs of
/// bpf/ (compiled by bpf/Makefile, which holds every compiler flag; the
/// Dataplane gets the router, with and without header capture, the benchmark its baselines, DataplaneTests the
/// benchmark's router for BPF_PROG_TEST_RUN with repeat), and for the API
/// server the CRDs of crds/.
@main
struct EmbedPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        if target.name == "APIServer" { return try embedCRDs(context: context) }
        let bpfDirectory = context.package.directoryURL.appending(path: "bpf")
        let output = context.pluginWorkDirectoryURL.appending(path: "BPFObjects.swift")
        let programs = switch target.name {
        case "routelet-bench": "bench_router bench_gateway bench_empty bench_fib"
        case "DataplaneTests": "bench_router"
        default: "router router_nocapture"
        }
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
