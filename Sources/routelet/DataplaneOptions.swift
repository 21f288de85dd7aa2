import ArgumentParser
import CRouteletSys
import Dataplane
import Foundation

/// Where the data plane lives: shared by every subcommand that touches it.
struct DataplaneOptions: ParsableArguments {
    @Option(name: .customLong("bpffs-dir"), help: "Directory on a BPF filesystem that holds routelet's pinned maps.")
    var bpffsDirectory = BPFFS.defaultDirectory

    @Option(help: ArgumentHelp(
        "Run in the named network namespace (/run/netns/NAME), for interfaces and TC filters.",
        discussion: "Use this rather than `ip netns exec`, which remounts /sys and hides the host's /sys/fs/bpf."))
    var netns: String?

    /// Moves this (still single-threaded) process into `--netns`, if given.
    func enterNamespace() throws {
        guard let netns else { return }
        let fd = open("/run/netns/\(netns)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ValidationError("network namespace \(netns): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard rl_setns_net(fd) == 0 else { throw ValidationError("setns into \(netns): \(String(cString: strerror(errno)))") }
    }
}
