import ArgumentParser
import Dataplane

/// routelet: declarative routes in, eBPF data plane out.
@main
struct Routelet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routelet",
        abstract: "Program node routing with eBPF from RouteTable resources.",
        discussion: """
            The data plane lives in pinned BPF maps under --bpffs-dir and in a TC \
            ingress filter on each bound interface; both outlive this process.
            """,
        version: RouteletVersion.string,
        subcommands: [AgentCommand.self, StandaloneCommand.self, GatewayCommand.self, APIServerCommand.self, Dump.self, CleanupCommand.self, Version.self]
    )
}

/// The release, for `routelet version` and `--version`.
enum RouteletVersion {
    static let string = "0.1.0"
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version and the data-plane ABI version.")

    func run() {
        print("routelet \(RouteletVersion.string) (data-plane ABI \(DataplaneABI.version))")
    }
}
