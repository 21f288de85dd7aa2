import Dataplane
import Foundation
import NetLab

/// Fails loudly (never skips) when the machine can't run kernel tests.
func requireKernelTestMachine() throws {
    guard getuid() == 0 else {
        throw KernelTestError("this test needs root (BPF, bpffs, network namespaces); run `make test` as root, as CI does")
    }
    guard (try? Command.run(["ip", "-V"])) != nil else {
        throw KernelTestError("this test needs `ip` from iproute2 (make deps installs it)")
    }
}

struct KernelTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A pin directory of one test's own. Call `remove()` in a `defer`.
struct TestPins {
    let directory: String

    init() throws {
        try requireKernelTestMachine()
        directory = "/sys/fs/bpf/rltest-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }

    func remove() {
        Dataplane.removePins(in: directory)
    }
}

/// Network namespaces of one test's own. Call `delete()` in a `defer`.
struct TestNamespaces {
    let all: [NetworkNamespace]

    init(_ roles: [String]) throws {
        try requireKernelTestMachine()
        var made: [NetworkNamespace] = []
        do {
            for role in roles { made.append(try NetworkNamespace(role)) }
        } catch {
            made.forEach { $0.delete() }
            throw error
        }
        all = made
    }

    subscript(_ index: Int) -> NetworkNamespace { all[index] }

    func delete() { all.forEach { $0.delete() } }
}

/// The `routelet` executable built beside this test binary.
func routeletExecutable() throws -> String {
    let directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    let path = directory.appendingPathComponent("routelet").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw KernelTestError("no routelet executable at \(path); build it with `swift build` first")
    }
    return path
}
