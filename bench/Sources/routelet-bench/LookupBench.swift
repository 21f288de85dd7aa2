import ArgumentParser
import Dataplane
import Foundation
import NetAddress
import NetLab

/// Per-packet cost of the router program under BPF_PROG_TEST_RUN, against
/// a TC program that calls bpf_fib_lookup over the same routes in the
/// kernel FIB, and an empty program (the harness floor).
struct LookupBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookup",
        abstract: "Per-packet lookup cost: routelet's LPM trie vs the kernel FIB (bpf_fib_lookup).")

    @Option(help: "IPv4 table sizes, comma-separated.")
    var sizes = "10,10000,100000,1000000"

    @Option(help: "IPv6 table sizes, comma-separated.")
    var v6Sizes = "10000"

    @Option(help: "BPF_PROG_TEST_RUN repetitions per destination.")
    var repeatCount = 1_000_000

    @Option(help: "Random destinations per table size.")
    var destinations = 8

    struct Sample: Codable {
        var family: String
        var prefixes: Int
        var program: String
        var destination: String
        var nanoseconds: Double
    }

    struct Row: Codable {
        var family: String
        var prefixes: Int
        var routeletNs: Double
        var kernelFibNs: Double
        var emptyNs: Double
        var ratio: Double
        var routeletInstallSeconds: Double
        var kernelInstallSeconds: Double
    }

    struct Result: Codable {
        var machine: MachineFacts
        var repeatCount: Int
        var rows: [Row]
        var samples: [Sample]
    }

    func run() throws {
        guard getuid() == 0 else { throw ValidationError("the lookup benchmark needs root (BPF, namespaces)") }
        var rows: [Row] = []
        var samples: [Sample] = []
        let plan = sizes.split(separator: ",").compactMap { Int($0) }.map { (IPAddress.Family.v4, $0) }
            + v6Sizes.split(separator: ",").compactMap { Int($0) }.map { (IPAddress.Family.v6, $0) }
        print("lookup: BPF_PROG_TEST_RUN, \(repeatCount) repetitions x \(destinations) destinations per size")
        for (family, size) in plan {
            let (row, rowSamples) = try measure(family: family, size: size)
            rows.append(row)
            samples += rowSamples
            print(String(format: "  %@ %8d prefixes: routelet %6.1f ns, kernel FIB %6.1f ns, empty %5.1f ns, ratio %.2f  (install: maps %.2f s, ip -batch %.2f s)",
                         row.family, row.prefixes, row.routeletNs, row.kernelFibNs, row.emptyNs, row.ratio,
                         row.routeletInstallSeconds, row.kernelInstallSeconds))
        }
        print("\nfamily  prefixes  routelet ns  kernel FIB ns  empty ns  routelet/FIB  (net of floor)")
        for row in rows {
            let net = (row.routeletNs - row.emptyNs) / max(0.1, row.kernelFibNs - row.emptyNs)
            print(String(format: "%-6@  %8d  %11.1f  %13.1f  %8.1f  %12.2f  %14.2f",
                         row.family, row.prefixes, row.routeletNs, row.kernelFibNs, row.emptyNs, row.ratio, net))
        }
        try writeResult(Result(machine: .current(), repeatCount: repeatCount, rows: rows, samples: samples), name: "lookup")
    }

    /// One table size in a namespace of its own (the kernel FIB) and a pin
    /// directory of its own (routelet's maps), both removed afterwards.
    func measure(family: IPAddress.Family, size: Int) throws -> (Row, [Sample]) {
        let ns = try NetworkNamespace("bench")
        let pins = "/sys/fs/bpf/rlbench-\(getpid())-\(size)"
        defer {
            Dataplane.removePins(in: pins)
            ns.delete()
        }
        // bpf_fib_lookup answers "forwarding disabled" unless the kernel forwards.
        try ns.sysctl("net.ipv4.ip_forward=1")
        try ns.sysctl("net.ipv6.conf.all.forwarding=1")
        try ns.ip("link add out0 type veth peer name out1")
        try ns.ip("link set out0 up")
        try ns.ip("link set out1 up")
        let gateway = family == .v4 ? "198.18.0.2" : "2001:db8:ffff::2"
        if family == .v4 {
            try ns.ip("addr add 198.18.0.1/24 dev out0")
        } else {
            try ns.ip("-6 addr add 2001:db8:ffff::1/64 dev out0 nodad")
        }
        try ns.ip("neigh replace \(gateway) lladdr 02:00:00:00:00:02 dev out0 nud permanent")

        let prefixes = internetLikePrefixes(count: size, family: family, seed: UInt64(size) &* 31 &+ (family == .v4 ? 4 : 6))
        var random = SeededRandom(state: 99)
        let targets = (0..<destinations).map { _ in address(in: prefixes.randomElement(using: &random)!, using: &random) }

        // The kernel FIB: the same routes through ip -batch.
        let batch = prefixes.map { "route replace \($0) via \(gateway) dev out0" }.joined(separator: "\n") + "\n"
        let kernelStart = Date()
        try Command.run(["ip", "-n", ns.name, "-batch", "-"], input: batch)
        let kernelSeconds = Date().timeIntervalSince(kernelStart)

        return try ns.enter {
            let dataplane = try Dataplane(pinDirectory: pins)
            let out0 = Interfaces.index(of: "out0")!
            let maps = dataplane.maps
            try maps.bind(ifindex: 1, table: 1)
            try maps.setGroup(1, [NextHop(ifindex: out0, gateway: IPAddress(gateway))])
            let installStart = Date()
            for (index, prefix) in prefixes.enumerated() {
                try maps.setRoute(RouteKey(table: 1, prefix: prefix), RouteEntry(id: UInt32(index + 1), action: .forward(group: 1)))
            }
            let installSeconds = Date().timeIntervalSince(installStart)

            // The router's own code, wrapped to restore the TTL before each
            // repetition, over the same pinned maps.
            let router = try BPFObject(base64: BPFObjects.bench_router, name: "bench_router", pinRoot: pins)
            let empty = try BPFObject(base64: BPFObjects.bench_empty, name: "bench_empty")
            let fib = try BPFObject(base64: BPFObjects.bench_fib, name: "bench_fib")
            let programs: [(String, Int32, Int32)] = [
                ("routelet", try router.programFD("rl_bench_router"), 7), ("restore", try router.programFD("rl_bench_restore"), 0),
                ("kernel-fib", try fib.programFD("rl_bench_fib"), 2), ("empty", try empty.programFD("rl_bench_empty"), 0),
            ]
            var samples: [Sample] = []
            var perProgram: [String: [Double]] = [:]
            for target in targets {
                var packet = Packet(from: family == .v4 ? "198.18.0.9" : "2001:db8:ffff::9", to: target.description)
                packet.payloadLength = 64
                for (name, fd, expected) in programs {
                    let result = try TestRun.run(programFD: fd, packet: packet.bytes, ingressIfindex: 1, repeat: repeatCount)
                    guard result.verdict == expected else {
                        let reasons = try maps.reasonCounters().filter { $0.value.packets > 0 }.map { "\($0.key)=\($0.value.packets)" }
                        throw ValidationError("(routelet reasons so far: \(reasons)) " + "\(name) returned \(result.verdict) for \(target), expected \(expected): the routes are not what the benchmark thinks")
                    }
                    let ns = Double(result.nanosecondsPerRun)
                    perProgram[name, default: []].append(ns)
                    samples.append(Sample(family: "\(family)", prefixes: size, program: name, destination: target.description, nanoseconds: ns))
                }
            }
            // The wrapper's own work (restoring the TTL) is not routelet's.
            let floor = median(perProgram["empty"]!), kernel = median(perProgram["kernel-fib"]!)
            let routelet = median(perProgram["routelet"]!) - (median(perProgram["restore"]!) - floor)
            let row = Row(family: "\(family)", prefixes: size, routeletNs: routelet, kernelFibNs: kernel, emptyNs: floor,
                          ratio: routelet / max(kernel, 0.1), routeletInstallSeconds: installSeconds, kernelInstallSeconds: kernelSeconds)
            return (row, samples)
        }
    }
}
