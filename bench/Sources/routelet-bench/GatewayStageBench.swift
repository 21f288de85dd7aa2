import ArgumentParser
import Dataplane
import DataplaneModel
import Foundation
import NetAddress
import NetLab
import Reconciler

/// What a TCP listener's extras cost per packet under BPF_PROG_TEST_RUN:
/// header capture (the first data segment parsed, and the later segments
/// that only test a flag) against the same listener without it; a new flow
/// through 1,000 allow and 1,000 deny sourceRanges, and through a rateLimit
/// that never refuses, against a new flow through a plain listener. All in
/// one run, alternating per sample, each net of its wrapper's restoring.
struct GatewayStageBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway-stage",
        abstract: "Per-packet cost of header capture (first and later segments), 1,000 sourceRanges and a rateLimit on a TCP listener, under BPF_PROG_TEST_RUN.")

    @Option(help: "BPF_PROG_TEST_RUN repetitions of a conntrack hit.")
    var repeatCount = 1_000_000

    @Option(help: "BPF_PROG_TEST_RUN repetitions of the new-flow cases (each a flow with an SNAT port of its own).")
    var newFlowRepeat = 3000

    @Option(help: "Samples (distinct listeners and flows) per case.")
    var samples = 11

    @Option(help: "sourceRanges in each of the allow and deny lists.")
    var ranges = 1000

    struct Row: Codable {
        var name: String
        var netNs: Double
        var baseline: String
        var baselineNs: Double
        var addedNs: Double
        var samples: [Double]
    }

    struct Result: Codable {
        var machine: MachineFacts
        var repeatCount: Int
        var newFlowRepeat: Int
        var ranges: Int
        var request: String
        var rows: [Row]
    }

    /// A request as curl sends it, with three headers to capture.
    static let request = "GET /api/v1/items/42?view=full HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: curl/7.88.1\r\n"
        + "Accept: */*\r\nX-User-Role: admin\r\nX-Region: eu-west-1\r\n\r\n"

    func run() throws {
        guard getuid() == 0 else { throw ValidationError("gateway-stage needs root (BPF, namespaces)") }
        let machine = MachineFacts.current()
        print("gateway-stage: commit \(machine.commit), \(machine.cpu), \(machine.cores) cores, kernel \(machine.kernel)")
        print("  \(repeatCount) repetitions (new flows \(newFlowRepeat)) x \(samples) samples; request of \(Self.request.utf8.count) bytes")
        var perCase: [String: [Double]] = [:]
        try GatewayBench.withTestRunLab("gwstage") { dataplane, pins in
            let maps = dataplane.maps, gateway = dataplane.gateway
            try maps.bind(ifindex: 1, table: 0, gateway: true)   // lo: the test run's ingress
            var nextBackend: UInt32 = 1
            var nextListener: UInt32 = 0
            /// A TCP listener of its own on `port`, three backends on a port of their own.
            func listener(port: UInt16, capture: Bool = false, ranges: Bool = false, rate: Bool = false) throws {
                let id = nextListener
                nextListener += 1
                var ids: [UInt32] = []
                for index in 0..<3 {
                    try gateway.setBackend(nextBackend, BackendEntry(address: IPAddress(GatewayLab.backendAddress(index))!, port: 9000 + port,
                                                                      snatAddress: IPAddress(GatewayLab.gatewayAddress(backend: index))),
                                           isNew: true)
                    ids.append(nextBackend)
                    nextBackend += 1
                }
                let table = Maglev.table(ids.map { MaglevBackend(key: "\($0)") }).map { ids[Int($0)] }
                try gateway.setMaglev(listenerID: id, slots: table)
                try gateway.resetListenerCounter(id)
                if capture { try gateway.setCaptureNames(listenerID: id, CaptureNames(["X-User-Role", "X-Region", "User-Agent"])) }
                if ranges {
                    // 198.18.10.0/24 (the clients) among them; denied: 10.x.y.0/24 elsewhere.
                    for index in 0..<self.ranges {
                        let allow = index == 0 ? "198.18.10.0/24" : "100.\(64 + index / 256).\(index % 256).0/24"
                        try gateway.addSourceRange(SourceRange(listenerID: id, list: .allow, prefix: IPPrefix(allow)!))
                        try gateway.addSourceRange(SourceRange(listenerID: id, list: .deny, prefix: IPPrefix("10.\(index / 256).\(index % 256).0/24")!))
                    }
                }
                try gateway.setListener(ListenerKey(address: IPAddress(GatewayLab.listener)!, port: port, proto: .tcp),
                                        ListenerEntry(id: id, snat: true, maglevSize: UInt32(table.count), idleTimeoutSeconds: 300,
                                                      allowList: ranges, denyList: ranges,
                                                      rateLimit: rate ? FlowRateLimit(perSecond: 1_000_000_000, burst: 1_000_000_000) : nil,
                                                      capture: capture))
            }
            func packet(from: String, _ sport: Int, port: Int, flags: UInt8, payload: [UInt8]?) -> [UInt8] {
                var packet = Packet(from: from, to: GatewayLab.listener)
                packet.proto = 6
                packet.sourcePort = UInt16(sport)
                packet.destinationPort = UInt16(port)
                packet.tcpFlags = flags
                if let payload { packet.payload = payload } else { packet.payloadLength = 64 }
                return packet.bytes
            }
            func measure(_ program: String, as name: String, packet: [UInt8], repeat count: Int, expect verdict: Int32) throws {
                let loaded = try BPFObject(base64: BPFObjects.bench_gateway, name: "bench_gateway", pinRoot: pins)
                let run = try TestRun.run(programFD: try loaded.programFD(program), packet: packet, ingressIfindex: 1, repeat: count)
                guard run.verdict == verdict else { throw BenchError("\(name): \(program) returned \(run.verdict), expected \(verdict)") }
                perCase[name, default: []].append(Double(run.nanosecondsPerRun))
            }
            let request = Array(Self.request.utf8)
            let ring = try gateway.openCaptureRing()
            let firstSegmentRepeat = 1500
            for sample in 0..<samples {
                let base = UInt16(2000 + sample * 10)
                try listener(port: base)
                try listener(port: base + 1, capture: true)
                try listener(port: base + 2, ranges: true)
                try listener(port: base + 3, rate: true)
                let client = GatewayLab.clientAddress, port = 30000 + sample
                let plain = packet(from: client, port, port: Int(base), flags: 0x18, payload: request)
                let captured = packet(from: client, port, port: Int(base) + 1, flags: 0x18, payload: request)
                try measure("rl_bench_gw", as: "hit, data segment, no capture", packet: plain, repeat: repeatCount, expect: 7)
                try measure("rl_bench_gw", as: "hit, later segment, capture on", packet: captured, repeat: repeatCount, expect: 7)
                // The ring holds ~1,750 records and nobody reads it during a
                // run: a full ring would skip the copy, so runs stay below that.
                while try ring.poll(timeoutMilliseconds: 0, { _ in }) > 0 {}
                try measure("rl_bench_gw_capture", as: "hit, first segment, capture on (parsed)", packet: captured,
                            repeat: firstSegmentRepeat, expect: 7)
                try measure("rl_bench_gw_restore", as: "restore", packet: plain, repeat: repeatCount, expect: 0)
                try measure("rl_bench_gw_capture_restore", as: "restore, capture flag", packet: captured, repeat: firstSegmentRepeat, expect: 0)
                // Rotated per sample: each insert fills conntrack a little,
                // so no case always meets the fullest map.
                let newFlows = [(0, "new flow, plain listener"), (2, "new flow, \(ranges) allow + \(ranges) deny ranges"),
                                (3, "new flow, rateLimit")]
                for index in 0..<newFlows.count {
                    let (offset, name) = newFlows[(index + sample) % newFlows.count]
                    let syn = packet(from: "198.18.10.\(100 + sample)", 1024, port: Int(base) + offset, flags: 0x02, payload: nil)
                    try measure("rl_bench_gw_new", as: name, packet: syn, repeat: newFlowRepeat, expect: 7)
                }
                let syn = packet(from: "198.18.10.\(100 + sample)", 1024, port: Int(base), flags: 0x02, payload: nil)
                try measure("rl_bench_gw_restore_new", as: "restore, new flow", packet: syn, repeat: newFlowRepeat, expect: 0)
            }
            let records = try gateway.captureCounter(1)
            print("  capture counter of the first capturing listener: \(records.records) records, \(records.lost) lost")
            guard records.lost == 0 else { throw BenchError("records were lost: the first-segment case did not measure the copy") }
        }
        func net(_ name: String, _ restore: String) -> Double { median(perCase[name]!) - median(perCase[restore]!) }
        let cases: [(String, String, String)] = [
            ("hit, later segment, capture on", "restore", "hit, data segment, no capture"),
            ("hit, first segment, capture on (parsed)", "restore, capture flag", "hit, data segment, no capture"),
            ("new flow, \(ranges) allow + \(ranges) deny ranges", "restore, new flow", "new flow, plain listener"),
            ("new flow, rateLimit", "restore, new flow", "new flow, plain listener"),
        ]
        let restoreOf = ["hit, data segment, no capture": "restore", "new flow, plain listener": "restore, new flow"]
        var rows: [Row] = []
        for (name, restore, baseline) in cases {
            let value = net(name, restore), base = net(baseline, restoreOf[baseline]!)
            rows.append(Row(name: name, netNs: value, baseline: baseline, baselineNs: base, addedNs: value - base, samples: perCase[name]!))
        }
        func padded(_ text: String) -> String { text.padding(toLength: 52, withPad: " ", startingAt: 0) }
        print("  \(padded("case (ns, net of the restoring)"))        ns  baseline     added")
        for row in rows {
            print("  \(padded(row.name))" + String(format: "%10.1f%10.1f%+10.1f", row.netNs, row.baselineNs, row.addedNs))
        }
        try writeResult(Result(machine: machine, repeatCount: repeatCount, newFlowRepeat: newFlowRepeat, ranges: ranges,
                               request: Self.request, rows: rows), name: "gateway-stage")
    }
}
