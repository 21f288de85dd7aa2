import ArgumentParser
import Dataplane
import DataplaneModel
import Foundation
import NetAddress
import NetLab

/// Per-packet cost of the router program under BPF_PROG_TEST_RUN, against
/// a TC program that calls bpf_fib_lookup over the same routes in the
/// kernel FIB, and an empty program (the harness floor); warm (one
/// destination repeated) and cold (many destinations, one run each, after
/// the CPU caches are swept).
struct LookupBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookup",
        abstract: "Per-packet lookup cost, warm and cold: routelet's lookup and whole path vs the kernel FIB (bpf_fib_lookup).")

    @Option(help: "IPv4 table sizes, comma-separated.")
    var sizes = "10,10000,100000,1000000"

    @Option(help: "IPv6 table sizes, comma-separated.")
    var v6Sizes = "10000,100000"

    @Option(help: "Warm: BPF_PROG_TEST_RUN repetitions per destination.")
    var repeatCount = 1_000_000

    @Option(help: "Warm: random destinations per table size.")
    var destinations = 8

    @Option(help: "Cold: distinct random destinations per table size, each run once per program.")
    var coldDestinations = 65_536

    @Option(help: "Cold: MiB of memory read before each program's pass, to evict the CPU caches.")
    var sweepMiB = 256

    struct Sample: Codable {
        var family: String
        var prefixes: Int
        var program: String
        var destination: String
        var nanoseconds: Double
    }

    /// One program's figures at one size: warm is the median over the warm
    /// destinations; cold is the mean over the cold ones, the slowest 1 %
    /// left out (interrupts), and their median.
    struct Figures: Codable {
        var warmNs: Double
        var coldMeanNs: Double
        var coldMedianNs: Double

        /// These figures less `other`'s, measure by measure.
        func minus(_ other: Figures) -> Figures {
            Figures(warmNs: warmNs - other.warmNs, coldMeanNs: coldMeanNs - other.coldMeanNs, coldMedianNs: coldMedianNs - other.coldMedianNs)
        }
    }

    struct Row: Codable {
        var family: String
        var prefixes: Int
        /// routelet's whole path (rl_route_packet), the TTL restore subtracted.
        var routelet: Figures
        /// rl_lookup_route alone (rl_bench_lookup: parse, interface, lookup).
        var lookup: Figures
        var kernelFib: Figures
        var empty: Figures
        var warmRatio: Double
        var coldRatio: Double
        var warmLookupRatio: Double
        var coldLookupRatio: Double
        var routeletInstallSeconds: Double
        var kernelInstallSeconds: Double
        /// IPv4: the same programs with the table compiled (DIR-24-8, rl_lookup_v4).
        var compiled: Compiled?
    }

    struct Compiled: Codable {
        var routelet: Figures
        var lookup: Figures
        var warmRatio: Double
        var coldRatio: Double
        var warmLookupRatio: Double
        var coldLookupRatio: Double
        var compileSeconds: Double
        /// The array's size in the kernel.
        var bytes: Int
        var chunks: Int
    }

    struct Result: Codable {
        var machine: MachineFacts
        var repeatCount: Int
        var coldDestinations: Int
        var rows: [Row]
        var samples: [Sample]
    }

    func run() throws {
        guard getuid() == 0 else { throw ValidationError("the lookup benchmark needs root (BPF, namespaces)") }
        var rows: [Row] = []
        var samples: [Sample] = []
        let plan = sizes.split(separator: ",").compactMap { Int($0) }.map { (IPAddress.Family.v4, $0) }
            + v6Sizes.split(separator: ",").compactMap { Int($0) }.map { (IPAddress.Family.v6, $0) }
        print("lookup: BPF_PROG_TEST_RUN; warm: \(repeatCount) repetitions x \(destinations) destinations; cold: \(coldDestinations) destinations x 1, caches swept (\(sweepMiB) MiB) before each program")
        for (family, size) in plan {
            let (row, rowSamples) = try measure(family: family, size: size)
            rows.append(row)
            samples += rowSamples
            print(String(format: "  %@ %8d prefixes: warm routelet %6.1f lookup %6.1f FIB %6.1f empty %5.1f | cold routelet %6.1f lookup %6.1f FIB %6.1f empty %5.1f ns  (install: maps %.2f s, ip -batch %.2f s)",
                         row.family, row.prefixes, row.routelet.warmNs, row.lookup.warmNs, row.kernelFib.warmNs, row.empty.warmNs,
                         row.routelet.coldMeanNs, row.lookup.coldMeanNs, row.kernelFib.coldMeanNs, row.empty.coldMeanNs,
                         row.routeletInstallSeconds, row.kernelInstallSeconds))
        }
        print("\nns per packet; ratios against bpf_fib_lookup over the same routes; trie, then (IPv4) the table compiled")
        print("family  prefixes | warm: path  lookup   FIB  empty  path/FIB  lookup/FIB | cold: path  lookup   FIB  empty  path/FIB  lookup/FIB")
        for row in rows {
            print(String(format: "%-6@  %8d | %10.1f %7.1f %5.1f %6.1f %9.2f %11.2f | %10.1f %7.1f %5.1f %6.1f %9.2f %11.2f",
                         row.family, row.prefixes, row.routelet.warmNs, row.lookup.warmNs, row.kernelFib.warmNs, row.empty.warmNs,
                         row.warmRatio, row.warmLookupRatio, row.routelet.coldMeanNs, row.lookup.coldMeanNs, row.kernelFib.coldMeanNs,
                         row.empty.coldMeanNs, row.coldRatio, row.coldLookupRatio))
            if let c = row.compiled {
                print(String(format: "%-6@  %8d | %10.1f %7.1f %5.1f %6.1f %9.2f %11.2f | %10.1f %7.1f %5.1f %6.1f %9.2f %11.2f   compiled: %.1f MiB, %d chunks, %.2f s",
                             "  DIR", row.prefixes, c.routelet.warmNs, c.lookup.warmNs, row.kernelFib.warmNs, row.empty.warmNs,
                             c.warmRatio, c.warmLookupRatio, c.routelet.coldMeanNs, c.lookup.coldMeanNs, row.kernelFib.coldMeanNs,
                             row.empty.coldMeanNs, c.coldRatio, c.coldLookupRatio, Double(c.bytes) / 1_048_576, c.chunks, c.compileSeconds))
            }
        }
        try writeResult(Result(machine: .current(), repeatCount: repeatCount, coldDestinations: coldDestinations, rows: rows, samples: samples),
                        name: "lookup")
    }

    /// A program under test and the verdict it must give for every
    /// destination (nil: any non-zero, the lookup's route id).
    struct Program {
        var name: String
        /// Its name in the results (the compiled runs add "-dir").
        var label: String { name + suffix }
        var suffix = ""
        var fd: Int32
        var verdict: Int32?
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
        var random = SplitMix64(seed: 99)
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
            let emptyObject = try BPFObject(base64: BPFObjects.bench_empty, name: "bench_empty")
            let fib = try BPFObject(base64: BPFObjects.bench_fib, name: "bench_fib")
            let programs = [
                Program(name: "routelet", fd: try router.programFD("rl_bench_router"), verdict: 7),
                Program(name: "restore", fd: try router.programFD("rl_bench_restore"), verdict: 0),
                Program(name: "lookup", fd: try router.programFD("rl_bench_lookup"), verdict: nil),
                Program(name: "kernel-fib", fd: try fib.programFD("rl_bench_fib"), verdict: 2),
                Program(name: "empty", fd: try emptyObject.programFD("rl_bench_empty"), verdict: 0),
            ]
            var samples: [Sample] = []
            var warm: [String: [Double]] = [:]
            func measureWarm(_ programs: [Program]) throws {
                for target in targets {
                    let packet = Self.packet(to: target, family: family)
                    for program in programs {
                        let result = try TestRun.run(programFD: program.fd, packet: packet, ingressIfindex: 1, repeat: repeatCount)
                        try check(result.verdict, of: program, for: target, maps: maps)
                        let ns = Double(result.nanosecondsPerRun)
                        warm[program.label, default: []].append(ns)
                        samples.append(Sample(family: "\(family)", prefixes: size, program: program.label, destination: target.description, nanoseconds: ns))
                    }
                }
            }
            try measureWarm(programs)
            var cold = try measureCold(programs: programs, prefixes: prefixes, family: family, maps: maps)

            // IPv4 again with the table compiled: the same programs and
            // destinations; the trie stays, but the program no longer reads it.
            var compiledTable: (seconds: Double, bytes: Int, chunks: Int)?
            if family == .v4 {
                let start = Date()
                let chunks = Set(prefixes.filter { $0.length > 24 }.map { CompiledLookupV4.Prefix($0)!.address >> 8 }).count
                let map = try CompiledLookupMap(tableID: 1, layout: .sized(routes: prefixes.count, chunks: chunks), pinDirectory: pins)
                for (index, prefix) in prefixes.enumerated().sorted(by: { $0.element.length < $1.element.length }) {
                    try map.table.set(CompiledLookupV4.Prefix(prefix)!, .init(routeID: UInt32(index + 1), groupID: 1, type: 1))
                }
                try map.pin()
                try maps.setCompiledLookup(table: 1, map)
                compiledTable = (Date().timeIntervalSince(start), map.bytes, map.table.chunkCount)
                let again = programs.filter { ["routelet", "restore", "lookup"].contains($0.name) }.map { var p = $0; p.suffix = "-dir"; return p }
                try measureWarm(again)
                cold.merge(try measureCold(programs: again, prefixes: prefixes, family: family, maps: maps)) { $1 }
            }
            func figures(_ name: String) -> Figures {
                Figures(warmNs: median(warm[name]!), coldMeanNs: trimmedMean(cold[name]!), coldMedianNs: median(cold[name]!))
            }
            // The wrapper's own work (restoring the TTL) is not routelet's.
            let empty = figures("empty"), restore = figures("restore"), kernel = figures("kernel-fib"), lookup = figures("lookup")
            let routelet = figures("routelet").minus(restore.minus(empty))
            var row = Row(family: "\(family)", prefixes: size, routelet: routelet, lookup: lookup, kernelFib: kernel, empty: empty,
                          warmRatio: routelet.warmNs / max(kernel.warmNs, 0.1), coldRatio: routelet.coldMeanNs / max(kernel.coldMeanNs, 0.1),
                          warmLookupRatio: lookup.warmNs / max(kernel.warmNs, 0.1), coldLookupRatio: lookup.coldMeanNs / max(kernel.coldMeanNs, 0.1),
                          routeletInstallSeconds: installSeconds, kernelInstallSeconds: kernelSeconds)
            if let compiledTable {
                let lookup = figures("lookup-dir")
                let routelet = figures("routelet-dir").minus(figures("restore-dir").minus(empty))
                row.compiled = Compiled(
                    routelet: routelet, lookup: lookup,
                    warmRatio: routelet.warmNs / max(kernel.warmNs, 0.1), coldRatio: routelet.coldMeanNs / max(kernel.coldMeanNs, 0.1),
                    warmLookupRatio: lookup.warmNs / max(kernel.warmNs, 0.1), coldLookupRatio: lookup.coldMeanNs / max(kernel.coldMeanNs, 0.1),
                    compileSeconds: compiledTable.seconds, bytes: compiledTable.bytes, chunks: compiledTable.chunks)
            }
            return (row, samples)
        }
    }

    /// Cold: every program runs once over each of `coldDestinations`
    /// different destinations (random addresses in random installed
    /// prefixes), programs one after the other, each pass after a sweep of
    /// `sweepMiB` of memory that evicts the caches. A first pass through the
    /// router creates the route counters (the program creates one on a
    /// route's first packet), so that the measured passes see a table that
    /// has carried traffic before, as a node's would.
    func measureCold(programs: [Program], prefixes: [IPPrefix], family: IPAddress.Family, maps: RouterMaps) throws -> [String: [Double]] {
        var random = SplitMix64(seed: UInt64(prefixes.count) &* 7 &+ 1)
        let targets = (0..<coldDestinations).map { _ in address(in: prefixes.randomElement(using: &random)!, using: &random) }
        let packets = targets.map { Self.packet(to: $0, family: family) }
        let router = programs.first { $0.name == "routelet" }!
        for (target, packet) in zip(targets, packets) {
            try check(try TestRun.run(programFD: router.fd, packet: packet, ingressIfindex: 1).verdict, of: router, for: target, maps: maps)
        }
        var sweep = [UInt64](repeating: 1, count: sweepMiB << 17)
        var result: [String: [Double]] = [:]
        for program in programs {
            // Written and read, so that no level of the cache keeps the tables.
            var sum: UInt64 = 0
            for index in sweep.indices { sweep[index] &+= 1; sum &+= sweep[index] }
            precondition(sum != 0)
            var times: [Double] = []
            times.reserveCapacity(packets.count)
            for (target, packet) in zip(targets, packets) {
                let run = try TestRun.run(programFD: program.fd, packet: packet, ingressIfindex: 1)
                try check(run.verdict, of: program, for: target, maps: maps)
                times.append(Double(run.nanosecondsPerRun))
            }
            result[program.label] = times
        }
        return result
    }

    static func packet(to target: IPAddress, family: IPAddress.Family) -> [UInt8] {
        var packet = Packet(from: family == .v4 ? "198.18.0.9" : "2001:db8:ffff::9", to: target.description)
        packet.payloadLength = 64
        return packet.bytes
    }

    /// A benchmark over routes that are not what it thinks fails here
    /// instead of reporting.
    func check(_ verdict: Int32, of program: Program, for target: IPAddress, maps: RouterMaps) throws {
        if let expected = program.verdict { if verdict == expected { return } } else if verdict != 0 { return }
        let reasons = try maps.reasonCounters().filter { $0.value.packets > 0 }.map { "\($0.key)=\($0.value.packets)" }
        throw ValidationError("\(program.name) returned \(verdict) for \(target), expected \(program.verdict.map { "\($0)" } ?? "a route id"): the routes are not what the benchmark thinks (routelet reasons so far: \(reasons))")
    }
}

/// The mean of the lowest 99 % (a handful of runs interrupted by the host
/// would otherwise move it).
func trimmedMean(_ values: [Double]) -> Double {
    let kept = values.sorted().prefix(max(1, values.count * 99 / 100))
    return kept.reduce(0, +) / Double(kept.count)
}
