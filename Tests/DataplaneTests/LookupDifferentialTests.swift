import Dataplane
import DataplaneModel
import Foundation
import NetAddress
import NetLab
import Testing

/// routelet's route lookup against the kernel as the oracle: the same random
/// table (overlaps, /0, host routes) goes into routelet's maps and into a
/// namespace's FIB; for every one of many random destinations the route
/// that `rl_lookup_route` picks (through BPF_PROG_TEST_RUN of
/// `rl_bench_lookup`, which returns the route's id) must be the prefix that
/// `ip route get fibmatch` names, before and after a round of changes
/// (deletions, additions, a covering prefix split in two). IPv4 runs twice:
/// with the trie, and with the table compiled (DIR-24-8, rl_lookup_v4).
@Suite(.serialized) struct LookupDifferentialTests {
    static let destinationCount = 100_000

    @Test(arguments: [(IPAddress.Family.v4, false), (.v6, false), (.v4, true)])
    func lookupPicksTheKernelsRoute(family: IPAddress.Family, compiled: Bool) throws {
        let pins = try TestPins()
        let namespaces = try TestNamespaces(["lookupdiff"])
        defer {
            pins.remove()
            namespaces.delete()
        }
        let ns = namespaces[0]
        let lab = try DifferentialLab(ns: ns, pins: pins.directory, family: family, compiled: compiled)
        var random = SplitMix64(seed: family == .v4 ? 0x4_4444 : 0x6_6666)
        var table = RandomTable(family: family)
        table.grow(by: 20_000, using: &random)
        try lab.install(table.prefixes, removing: [])
        try lab.compare(table, destinations: table.destinations(Self.destinationCount, using: &random), step: "installed")

        // Changes: a fifth of the routes removed, 5,000 new ones, and a short
        // covering prefix replaced by its two halves (the /8 -> two /9 case).
        var removed = Array(table.prefixes.shuffled(using: &random).prefix(table.prefixes.count / 5))
        let cover = table.prefixes.filter { $0.length >= 4 && $0.length <= 12 }.randomElement(using: &random)!
        if !removed.contains(cover) { removed.append(cover) }
        table.remove(removed)
        table.add(cover.halves())
        table.grow(by: 5_000, using: &random)
        table.add([IPPrefix(family == .v4 ? "0.0.0.0/0" : "::/0")!])
        try lab.install(table.prefixes, removing: removed)
        try lab.compare(table, destinations: table.destinations(Self.destinationCount, using: &random), step: "after changes")
    }
}

/// One namespace whose FIB and one pin directory whose maps hold the same
/// routes (all through one gateway on out0, route ids 1, 2, ...).
private struct DifferentialLab {
    let ns: NetworkNamespace
    let family: IPAddress.Family
    let maps: RouterMaps
    let lookup: Int32
    let gateway: String
    /// Keeps the program loaded.
    let object: BPFObject
    /// Table 1 compiled, when the test runs with it.
    let compiled: CompiledLookupMap?
    /// Route id of every prefix ever installed (ids are never reused).
    final class Ids { var byPrefix: [IPPrefix: UInt32] = [:]; var byId: [UInt32: IPPrefix] = [:] }
    let ids = Ids()

    init(ns: NetworkNamespace, pins: String, family: IPAddress.Family, compiled: Bool) throws {
        self.ns = ns
        self.family = family
        try ns.ip("link add out0 type veth peer name out1")
        try ns.ip("link set out0 up")
        try ns.ip("link set out1 up")
        gateway = family == .v4 ? "198.18.0.2" : "2001:db8:ffff::2"
        try ns.ip(family == .v4 ? "addr add 198.18.0.1/24 dev out0" : "-6 addr add 2001:db8:ffff::1/64 dev out0 nodad")
        let dataplane = try ns.enter { try Dataplane(pinDirectory: pins) }
        maps = dataplane.maps
        try maps.bind(ifindex: 1, table: 1)
        let out0 = try ns.enter { Interfaces.index(of: "out0") }
        try maps.setGroup(1, [NextHop(ifindex: try #require(out0), gateway: IPAddress(gateway))])
        object = try BPFObject(base64: BPFObjects.bench_router, name: "bench_router", pinRoot: pins)
        lookup = try object.programFD("rl_bench_lookup")
        if compiled {
            let map = try CompiledLookupMap(tableID: 1, layout: .sized(routes: 40_000, chunks: 20_000), pinDirectory: pins)
            try map.pin()
            try maps.setCompiledLookup(table: 1, map)
            self.compiled = map
        } else {
            self.compiled = nil
        }
    }

    /// The same change into both: the new routes first, then the removals
    /// (the order the agent keeps: no destination loses its route midway).
    func install(_ prefixes: [IPPrefix], removing removed: [IPPrefix]) throws {
        var batch = ""
        for prefix in prefixes where ids.byPrefix[prefix] == nil {
            let id = UInt32(ids.byId.count + 1)
            ids.byPrefix[prefix] = id
            ids.byId[id] = prefix
            try maps.setRoute(RouteKey(table: 1, prefix: prefix), RouteEntry(id: id, action: .forward(group: 1)))
            try compiled?.table.set(CompiledLookupV4.Prefix(prefix)!, .init(routeID: id, groupID: 1, type: 1))
            batch += "route replace \(prefix) via \(gateway) dev out0\n"
        }
        for prefix in removed {
            #expect(try maps.removeRoute(RouteKey(table: 1, prefix: prefix)), "\(prefix) was in routelet's map")
            ids.byPrefix[prefix] = nil
            compiled?.table.remove(CompiledLookupV4.Prefix(prefix)!)
            batch += "route del \(prefix) via \(gateway) dev out0\n"
        }
        try Command.run(["ip", "-n", ns.name, "-batch", "-"], input: batch)
    }

    /// Every destination's route in both, compared; the first mismatches are
    /// reported with both answers.
    func compare(_ table: RandomTable, destinations: [IPAddress], step: String) throws {
        let kernel = try kernelRoutes(destinations)
        var mismatches: [String] = []
        var routed = 0
        for (destination, expected) in zip(destinations, kernel) {
            let verdict = try TestRun.run(programFD: lookup, packet: packet(to: destination), ingressIfindex: 1).verdict
            let chosen = verdict == 0 ? nil : ids.byId[UInt32(verdict)]
            if expected != nil { routed += 1 }
            if chosen != expected, mismatches.count < 10 {
                mismatches.append("\(destination): routelet \(chosen?.description ?? "no route"), kernel \(expected?.description ?? "no route")")
            }
        }
        #expect(mismatches.isEmpty, "\(family) \(step): routelet's lookup differs from the kernel's FIB:\n\(mismatches.joined(separator: "\n"))")
        // Both kinds of answer were exercised (misses only without a /0), or
        // the comparison proves little.
        let hasDefault = table.prefixes.contains { $0.length == 0 }
        #expect(routed > destinations.count / 2 && (hasDefault || routed < destinations.count),
                "\(family) \(step): \(routed) of \(destinations.count) destinations routed; the test wants both routed and unrouted ones")
    }

    /// `ip route get fibmatch` for each destination in one `ip -batch`: the
    /// matching prefix, nil where the kernel answers "unreachable".
    func kernelRoutes(_ destinations: [IPAddress]) throws -> [IPPrefix?] {
        let input = destinations.map { "route get fibmatch \($0)\n" }.joined()
        let run = try Command.runAllowingFailure(["ip", "-n", ns.name, "-force", "-batch", "-"], input: input)
        // A failed line is reported as "Command failed -:LINE" (1-based).
        let failed = Set(run.stderr.split(separator: "\n").compactMap { line -> Int? in
            guard line.hasPrefix("Command failed -:") else { return nil }
            return Int(line.dropFirst("Command failed -:".count))
        })
        var answers = run.stdout.split(separator: "\n").makeIterator()
        return try (1...destinations.count).map { line in
            if failed.contains(line) { return nil }
            guard let answer = answers.next(), let first = answer.split(separator: " ").first else {
                throw KernelTestError("ip route get: fewer answers than destinations (stderr: \(run.stderr.prefix(500)))")
            }
            let text = first == "default" ? (family == .v4 ? "0.0.0.0/0" : "::/0")
                : first.contains("/") ? String(first) : "\(first)/\(family == .v4 ? 32 : 128)"
            guard let prefix = IPPrefix(text) else { throw KernelTestError("ip route get: cannot read \(answer)") }
            return prefix
        }
    }

    func packet(to destination: IPAddress) -> [UInt8] {
        Packet(from: family == .v4 ? "198.18.0.9" : "2001:db8:ffff::9", to: destination.description).bytes
    }
}

/// A random table with what a lookup finds hard: nested prefixes, /0, host
/// routes, every length. It stays out of the lab's own subnet (198.18.0.0/15,
/// 2001:db8:ffff::/48), and its destinations out of the ranges the kernel or
/// the router treat specially (loopback, multicast, link-local).
private struct RandomTable {
    let family: IPAddress.Family
    private(set) var prefixes: [IPPrefix] = []
    private var present: Set<IPPrefix> = []

    init(family: IPAddress.Family) { self.family = family }

    var bits: Int { family == .v4 ? 32 : 128 }

    mutating func grow(by count: Int, using random: inout SplitMix64) {
        var added = 0
        while added < count {
            let prefix: IPPrefix
            let roll = Int.random(in: 0..<1000, using: &random)
            if roll < 400, let parent = prefixes.randomElement(using: &random), parent.length < bits {
                // Nested: a longer prefix inside an existing one.
                let length = Int.random(in: (parent.length + 1)...min(bits, parent.length + 16), using: &random)
                prefix = IPPrefix(address: parent.randomAddress(using: &random).masked(to: length), length: length)!
            } else {
                // Short prefixes rare (a few /4-/7 cover a good part of the
                // space already), host routes common, the rest any length.
                let short = family == .v4 ? 4...7 : 8...15, usual = family == .v4 ? 12...32 : 16...64
                let length = roll == 400 ? Int.random(in: short, using: &random) : roll > 400 && roll < 480 ? bits : Int.random(in: usual, using: &random)
                prefix = IPPrefix(address: randomUnicast(using: &random).masked(to: length), length: length)!
            }
            guard !collidesWithLab(prefix), present.insert(prefix).inserted else { continue }
            prefixes.append(prefix)
            added += 1
        }
    }

    mutating func remove(_ removed: [IPPrefix]) {
        let gone = Set(removed)
        prefixes.removeAll { gone.contains($0) }
        present.subtract(gone)
    }

    mutating func add(_ added: [IPPrefix]) {
        for prefix in added where !collidesWithLab(prefix) && present.insert(prefix).inserted { prefixes.append(prefix) }
    }

    /// Half inside random installed prefixes (deep matches), half anywhere
    /// in the unicast space (misses and short matches).
    func destinations(_ count: Int, using random: inout SplitMix64) -> [IPAddress] {
        var result: [IPAddress] = []
        result.reserveCapacity(count)
        while result.count < count {
            let address = result.count % 2 == 0 ? prefixes.randomElement(using: &random)!.randomAddress(using: &random)
                : randomUnicast(using: &random)
            if isOrdinaryDestination(address) { result.append(address) }
        }
        return result
    }

    /// IPv4 1.0.0.0-223.255.255.255, IPv6 2000::/3.
    private func randomUnicast(using random: inout SplitMix64) -> IPAddress {
        family == .v4 ? .v4(UInt32.random(in: 0x0100_0000...0xdfff_ffff, using: &random))
            : .v6(0x2000_0000_0000_0000 | UInt64.random(in: 0...(1 << 61 - 1), using: &random), UInt64.random(in: 0...UInt64.max, using: &random))
    }

    /// Prefixes inside the lab's subnet would replace the route to the gateway.
    private func collidesWithLab(_ prefix: IPPrefix) -> Bool {
        let lab = family == .v4 ? IPPrefix("198.18.0.0/15")! : IPPrefix("2001:db8:ffff::/48")!
        return prefix.length >= lab.length && lab.contains(prefix.address)
    }

    private func isOrdinaryDestination(_ address: IPAddress) -> Bool {
        let special = family == .v4
            ? ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "198.18.0.0/15", "224.0.0.0/3"]
            : ["2001:db8:ffff::/48", "fe80::/10", "ff00::/8", "::/8"]
        return !special.contains { IPPrefix($0)!.contains(address) }
    }
}

private extension IPPrefix {
    /// The two prefixes one bit longer that together cover this one.
    func halves() -> [IPPrefix] {
        let length = self.length + 1
        switch address {
        case .v4(let base):
            return [IPPrefix(address: .v4(base), length: length)!, IPPrefix(address: .v4(base | (1 << UInt32(32 - length))), length: length)!]
        case .v6(let high, let low):
            let upper = length <= 64 ? IPAddress.v6(high | (1 << UInt64(64 - length)), low) : .v6(high, low | (1 << UInt64(128 - length)))
            return [IPPrefix(address: .v6(high, low), length: length)!, IPPrefix(address: upper, length: length)!]
        }
    }
}
