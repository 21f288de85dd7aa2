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

    @Option(help: "Runs of 1,500 first segments per sample (the ring holds ~1,750 records; it is drained between runs).")
    var firstSegmentRounds = 8

    @Option(help: "What to run, comma-separated: testrun (per packet), lab (new connections/s with capture on and off).")
    var parts = "testrun,lab"

    @Option(help: "Lab: alternating wrk runs per listener (capture off, capture on).")
    var labRuns = 6

    @Option(help: "Lab: seconds per wrk run.")
    var labSeconds = 3

    struct Row: Codable {
        var name: String
        var netNs: Double
        var baseline: String
        var baselineNs: Double
        var addedNs: Double
        var samples: [Double]
    }

    struct LabRow: Codable {
        var listener: String
        var connectionsPerSecond: [Double]
        var median: Double
    }

    struct Result: Codable {
        var machine: MachineFacts
        var lab: [LabRow] = []
        var capturedLines = 0
        /// The agent's CPU (user + system) over the runs of each listener, seconds.
        var agentCPUSeconds: [String: Double] = [:]
        /// The agent's CPU per capture line: its CPU over the capture runs
        /// less that over the same number of runs without, per line.
        var agentMicrosecondsPerLine = 0.0
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
        let selected = Set(parts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        var result = Result(machine: machine, repeatCount: repeatCount, newFlowRepeat: newFlowRepeat, ranges: ranges,
                            request: Self.request, rows: [])
        if selected.contains("testrun") { result.rows = try perPacket() }
        if selected.contains("lab") { try measureLab(into: &result) }
        try writeResult(result, name: "gateway-stage")
    }

    func perPacket() throws -> [Row] {
        print("  \(repeatCount) repetitions (new flows \(newFlowRepeat), first segments \(firstSegmentRounds) x 1,500) x \(samples) samples; request of \(Self.request.utf8.count) bytes")
        print("  per packet (BPF_PROG_TEST_RUN)")
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
            /// An object per packet, loaded afresh each sample: its
            /// rl_bench_copy holds the packet that its first run saw.
            var objects: [[UInt8]: BPFObject] = [:]
            func measure(_ program: String, as name: String, packet: [UInt8], repeat count: Int, expect verdict: Int32) throws {
                let loaded = try objects[packet] ?? BPFObject(base64: BPFObjects.bench_gateway, name: "bench_gateway", pinRoot: pins)
                objects[packet] = loaded
                let run = try TestRun.run(programFD: try loaded.programFD(program), packet: packet, ingressIfindex: 1, repeat: count)
                guard run.verdict == verdict else { throw BenchError("\(name): \(program) returned \(run.verdict), expected \(verdict)") }
                perCase[name, default: []].append(Double(run.nanosecondsPerRun))
            }
            let request = Array(Self.request.utf8)
            let ring = try gateway.openCaptureRing()
            // The ring holds ~1,750 records and nobody reads it during a run:
            // a full ring would skip the record, so runs stay below that, and
            // are repeated instead, the ring drained between them.
            let firstSegmentRepeat = 1500
            for sample in 0..<samples {
                objects = [:]
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
                try measure("rl_bench_gw_restore", as: "restore", packet: plain, repeat: repeatCount, expect: 0)
                for _ in 0..<firstSegmentRounds {
                    while try ring.poll(timeoutMilliseconds: 0, { _ in }) > 0 {}
                    try measure("rl_bench_gw", as: "hit, data segment, no capture (short runs)", packet: plain,
                                repeat: firstSegmentRepeat, expect: 7)
                    try measure("rl_bench_gw_capture", as: "hit, first segment, capture on (parsed)", packet: captured,
                                repeat: firstSegmentRepeat, expect: 7)
                    try measure("rl_bench_gw_restore", as: "restore (short runs)", packet: plain, repeat: firstSegmentRepeat, expect: 0)
                    try measure("rl_bench_gw_capture_restore", as: "restore, capture flag", packet: captured,
                                repeat: firstSegmentRepeat, expect: 0)
                }
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
            guard records.lost == 0 else { throw BenchError("records were lost: the first-segment case did not measure the record") }
            // The first run of the flow opens it without reading data.
            guard records.records + 1 >= UInt64(firstSegmentRounds * firstSegmentRepeat) else {
                throw BenchError("\(records.records) records: the first-segment case did not parse every run")
            }
        }
        func net(_ name: String, _ restore: String) -> Double { median(perCase[name]!) - median(perCase[restore]!) }
        let cases: [(String, String, String)] = [
            ("hit, later segment, capture on", "restore", "hit, data segment, no capture"),
            ("hit, first segment, capture on (parsed)", "restore, capture flag", "hit, data segment, no capture (short runs)"),
            ("new flow, \(ranges) allow + \(ranges) deny ranges", "restore, new flow", "new flow, plain listener"),
            ("new flow, rateLimit", "restore, new flow", "new flow, plain listener"),
        ]
        let restoreOf = ["hit, data segment, no capture": "restore", "hit, data segment, no capture (short runs)": "restore (short runs)",
                         "new flow, plain listener": "restore, new flow"]
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
        return rows
    }

    /// New TCP connections per second through two listeners of the same
    /// agent to the same nginx backends, one with header capture of three
    /// names (every connection's request carries them), alternating runs;
    /// the agent writes the capture lines to a file.
    func measureLab(into result: inout Result) throws {
        for tool in ["wrk", "nginx"] where (try? Command.runAllowingFailure(["which", tool]))?.status != 0 {
            throw ValidationError("\(tool) is missing: apt-get install wrk nginx (make bench installs them)")
        }
        let gatewayBench = try GatewayBench.parse(["--seconds", "\(labSeconds)"])
        let lab = try GatewayLab(routeBack: true)
        let id = "\(getpid())"
        let pins = "/sys/fs/bpf/rlbench-stage-\(id)", work = NSTemporaryDirectory() + "rlbench-stage-\(id)"
        var servers: [Command.Background] = []
        var agent: RouteletProcess?
        defer {
            agent?.stop()
            _ = try? Command.runAllowingFailure([routeletExecutable, "cleanup", "--netns", lab.gateway.name, "--bpffs-dir", pins])
            Dataplane.removePins(in: pins)
            servers.forEach { _ = $0.stop(signal: SIGKILL) }
            lab.delete()
            try? FileManager.default.removeItem(atPath: work)
        }
        try FileManager.default.createDirectory(atPath: "\(work)/manifests", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(work)/state", withIntermediateDirectories: true)
        servers = try gatewayBench.startBackendServers(lab: lab, work: work)
        try lab.client.sysctl("net.ipv4.tcp_syn_retries=2")
        for backend in lab.backends { try backend.sysctl("net.ipv4.tcp_max_tw_buckets=0") }
        try GatewayBench.manifest(name: "web", proto: "TCP", port: 80, backendPort: GatewayBench.httpPort)
            .write(toFile: "\(work)/manifests/web.yaml", atomically: true, encoding: .utf8)
        try GatewayBench.manifest(name: "web-logged", proto: "TCP", port: 82, backendPort: GatewayBench.httpPort)
            .replacingOccurrences(of: "  rules:\n", with: "  accessLog: {headers: [X-User-Role, X-Region, User-Agent]}\n  rules:\n")
            .write(toFile: "\(work)/manifests/web-logged.yaml", atomically: true, encoding: .utf8)
        let accessLog = "\(work)/state/access.log"
        agent = try RouteletProcess(namespace: lab.gateway, arguments: [
            "agent", "--manifests", "\(work)/manifests", "--node-name", "bench", "--bpffs-dir", pins, "--state-dir", "\(work)/state",
            "--resync-period", "10m", "--metrics-addr", "", "--gateway", "external", "--access-log", accessLog,
        ])
        try gatewayBench.waitForTables(pins: pins, listeners: 2, backends: 3, agent: agent!)
        /// The agent's CPU time so far, seconds: utime and stime of /proc/<pid>/stat.
        func agentCPU() throws -> Double {
            let pid = agent?.process.processIdentifier ?? 0
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            // After the name: fields[0] is field 3 (the state), utime and stime are fields 14 and 15.
            let fields = stat.lastIndex(of: ")").map { stat[stat.index(after: $0)...].split(separator: " ") } ?? []
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
                throw BenchError("cannot read the agent's CPU time from /proc/\(pid)/stat")
            }
            return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
        var samples: [String: [Double]] = [:]
        print("  lab: new connections/s (wrk -t2 -c32 -d\(labSeconds)s, Connection: close, three headers), \(labRuns) runs each, alternating")
        for run in 0..<labRuns {
            for (name, port) in (run % 2 == 0 ? [("capture off", 80), ("capture on", 82)] : [("capture on", 82), ("capture off", 80)]) {
                try GatewayBench.flushConntrack(pins: pins)
                let cpuBefore = try agentCPU()
                let arguments = ["wrk", "-t2", "-c32", "-d\(labSeconds)s", "--timeout", "2s", "-H", "Connection: close",
                                 "-H", "X-User-Role: admin", "-H", "X-Region: eu-west-1", "http://\(GatewayLab.listener):\(port)/"]
                let output = try lab.client.run(arguments)
                let rate = GatewayBench.WrkReport(output).requestsPerSecond ?? 0
                samples[name, default: []].append(rate)
                Thread.sleep(forTimeInterval: 0.3)   // the agent reads the ring every 100 ms: its last lines
                result.agentCPUSeconds[name, default: 0] += try agentCPU() - cpuBefore
                print(String(format: "  %@ run %d: %.0f conn/s", name, run + 1, rate))
            }
        }
        Thread.sleep(forTimeInterval: 0.5)
        result.capturedLines = ((try? String(contentsOfFile: accessLog, encoding: .utf8)) ?? "").split(separator: "\n").count
        for name in ["capture off", "capture on"] {
            result.lab.append(LabRow(listener: name, connectionsPerSecond: samples[name]!, median: median(samples[name]!)))
        }
        let off = median(samples["capture off"]!), on = median(samples["capture on"]!)
        print(String(format: "  median: capture off %.0f conn/s, on %.0f conn/s: on/off %.3f; %d capture lines written",
                     off, on, on / off, result.capturedLines))
        let cpuOn = result.agentCPUSeconds["capture on"] ?? 0, cpuOff = result.agentCPUSeconds["capture off"] ?? 0
        result.agentMicrosecondsPerLine = result.capturedLines > 0 ? (cpuOn - cpuOff) / Double(result.capturedLines) * 1e6 : 0
        print(String(format: "  agent CPU: %.2f s over the capture runs, %.2f s over the others: %.1f µs per line",
                     cpuOn, cpuOff, result.agentMicrosecondsPerLine))
    }
}
