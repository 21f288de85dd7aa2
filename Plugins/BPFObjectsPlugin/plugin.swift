import Foundation
import PackagePlugin

/// Compiles the BPF programs in bpf/ and embeds them in the target that
/// uses this plugin, so that a plain `swift build` yields a binary that
/// carries its data plane. All compiler flags live in bpf/Makefile.
@main
struct BPFObjectsPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let bpfDirectory = context.package.directoryURL.appending(path: "bpf")
        let output = context.pluginWorkDirectoryURL.appending(path: "BPFObjects.swift")
        let sources = try FileManager.default
            .subpathsOfDirectory(atPath: bpfDirectory.path)
            .filter { $0.hasSuffix(".c") || $0.hasSuffix(".h") || $0 == "Makefile" }
            .map { bpfDirectory.appending(path: $0) }
        return [
            .buildCommand(
                displayName: "Compiling BPF programs (bpf/Makefile)",
                executable: URL(filePath: "/usr/bin/make"),
                arguments: ["-s", "-C", bpfDirectory.path, "O=\(context.pluginWorkDirectoryURL.path)"],
                inputFiles: sources,
                outputFiles: [output]
            ),
        ]
    }
}
