import ArgumentParser
import CLibbpf
import Dataplane
import DataplaneModel
import Foundation
import NetAddress
import NetLab
import Reconciler

/// The L4 gateway, routelet's GatewayRoute (the eBPF gateway stage:
/// conntrack, Maglev, DNAT + SNAT) against the kernel's NAT as kube-proxy's
/// nftables mode programs it (DNAT to a random endpoint, masquerade), in the
/// same gateway lab: new TCP connections/s, requests/s over kept-alive
/// connections, 64-byte UDP packets/s at the backends, and the latency the
/// listener adds to a request, in rounds that alternate the modes. Then the
/// gateway stage's own cost per packet under BPF_PROG_TEST_RUN (conntrack
/// hit, new flow) beside the router's lookup, and the time to build and swap
/// a Maglev table. docs/performance.md has the method and the results.
struct GatewayBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "L4 gateway: routelet vs kernel NAT (nftables DNAT + masquerade): connections/s, requests/s, 64-byte UDP pps, added latency; per-packet cost; Maglev build + swap.")

    @Option(help: "Seconds per load run (wrk, UDP sender).")
    var seconds = 3

    @Option(help: "Runs per test and mode (median and spread are reported).")
    var repeats = 5

    @Option(help: "wrk connections in the throughput tests (connections/s, requests/s).")
    var connections = 32

    @Option(help: "Seconds per run of new connections on an emptied conntrack (routelet has 31,744 SNAT ports per backend, taken over 10 s after a flow ends).")
    var connectionSeconds = 1

    @Option(help: "UDP sender processes (each with a fixed set of 16 flows).")
    var udpSenders = 2

    @Option(help: "BPF_PROG_TEST_RUN repetitions of a conntrack hit and of the router's lookup.")
    var repeatCount = 1_000_000

    @Option(help: "BPF_PROG_TEST_RUN repetitions of the new-flow case (each one a flow with an SNAT port of its own; 31,744 ports per backend).")
    var newFlowRepeat = 3000

    @Option(help: "BPF_PROG_TEST_RUN samples (distinct flows) per case.")
    var samplesPerCase = 5

    @Option(help: "Backends in the Maglev tables that are built and swapped.")
    var maglevBackends = 1000

    @Option(help: "Samples of Maglev build and swap per table size.")
    var maglevRepeats = 10

    @Option(help: "What to run, comma-separated: testrun, maglev, lab.")
    var parts = "testrun,maglev,lab"

    @Option(help: "Lab tests, comma-separated: connections, sustained, requests, udp, latency.")
    var tests = "connections,sustained,requests,udp,latency"

    var selectedTests: Set<String> { Set(tests.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }

    // MARK: Results

    typealias Sample = ComparisonSample

    typealias Row = ComparisonRow

    /// One case under BPF_PROG_TEST_RUN: medians over the samples, with the
    /// wrapper's restoring subtracted (`net`).
    struct CostRow: Codable {
        var program: String
        var repeatCount: Int
        var rawNs: Double
        var restoreNs: Double
        var netNs: Double
        var netOfFloorNs: Double
    }

    struct CostSample: Codable {
        var program: String
        var nanoseconds: Double
    }

    struct MaglevRow: Codable {
        var size: Int
        var backends: Int
        var buildMsMedian: Double
        var buildMsMin: Double
        var buildMsMax: Double
        var swapMsMedian: Double
        var swapMsMin: Double
        var swapMsMax: Double
    }

    struct Result: Codable {
        var machine: MachineFacts
        var secondsPerRun: Int
        var repeats: Int
        var connections: Int
        var rows: [Row]
        var samples: [Sample]
        var failures: [String: Double]
        var costEmptyNs: Double
        var costs: [CostRow]
        var costSamples: [CostSample]
        var maglev: [MaglevRow]
    }

    func run() throws {
        guard getuid() == 0 else { throw ValidationError("the gateway benchmark needs root (namespaces, BPF, nftables)") }
        let wanted = Set(parts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        var result = Result(machine: .current(), secondsPerRun: seconds, repeats: repeats, connections: connections, rows: [],
                            samples: [], failures: [:], costEmptyNs: 0, costs: [], costSamples: [], maglev: [])
        if wanted.contains("testrun") {
            print("gateway: BPF_PROG_TEST_RUN, \(repeatCount) repetitions (new flows: \(newFlowRepeat)) x \(samplesPerCase) flows per case")
            try measureCosts(into: &result)
        }
        if wanted.contains("maglev") {
            print("gateway: Maglev build + swap, \(maglevBackends) backends, \(maglevRepeats) samples per size")
            result.maglev = try measureMaglev()
        }
        if wanted.contains("lab") {
            for tool in ["wrk", "nginx", "nft"] where (try? Command.runAllowingFailure(["which", tool]))?.status != 0 {
                throw ValidationError("\(tool) is missing: apt-get install wrk nginx nftables (make bench installs them)")
            }
            try measureLab(into: &result)
        }
        printTables(result)
        try writeResult(result, name: "gateway")
    }

    // MARK: - Lab: routelet vs kernel NAT

    static let httpPort = 8090
    static let udpSinkPort = 9000
    static let tcpListenerPort = 80
    /// The same TCP service without SNAT (preserveClientIP; in nftables,
    /// DNAT without the masquerade mark, as kube-proxy does for
    /// externalTrafficPolicy: Local): the backends route back.
    static let noSNATListenerPort = 81
    static let udpListenerPort = 53

    /// What is measured in the lab, in the order it runs in each mode.
    enum Test: String, CaseIterable {
        case connectionsFresh = "new TCP conns, empty ct"
        case connectionsNoSNAT = "new conns, no SNAT, empty ct"
        case connections = "new TCP conns, back to back"
        case requests = "requests, kept-alive"
        case udp = "UDP, 64-byte packets"
        case listenerP50 = "latency via listener, p50"
        case listenerP99 = "latency via listener, p99"
        case directP50 = "latency direct, p50"
        case directP99 = "latency direct, p99"
        case addedP50 = "added latency, p50"
        case addedP99 = "added latency, p99"

        var unit: String {
            switch self {
            case .connections, .connectionsFresh, .connectionsNoSNAT: "conn/s"
            case .requests: "req/s"
            case .udp: "kpps received"
            default: "us"
            }
        }
    }

    func measureLab(into result: inout Result) throws {
        // The backends route back to the client for the "direct" latency
        // baseline and the no-SNAT listener; the other listeners' traffic is
        // SNATed in both modes all the same.
        let lab = try GatewayLab(routeBack: true)
        let id = "\(getpid())"
        let pins = "/sys/fs/bpf/rlbench-gateway-\(id)", work = NSTemporaryDirectory() + "rlbench-gateway-\(id)"
        var agent: RouteletProcess?
        var servers: [Command.Background] = []
        func routeletOff() {
            agent?.stop()
            agent = nil
            _ = try? Command.runAllowingFailure([routeletExecutable, "cleanup", "--netns", lab.gateway.name, "--bpffs-dir", pins])
            Dataplane.removePins(in: pins)
        }
        defer {
            routeletOff()
            servers.forEach { _ = $0.stop(signal: SIGKILL) }
            _ = try? lab.gateway.runAllowingFailure(["nft", "delete", "table", "ip", "rlbench"])
            lab.delete()
            try? FileManager.default.removeItem(atPath: work)
        }
        try FileManager.default.createDirectory(atPath: "\(work)/manifests", withIntermediateDirectories: true)
        servers = try startBackendServers(lab: lab, work: work)
        // A SYN that is never answered fails its connect after 7 s instead
        // of 127 s (wrk's first connect blocks).
        try lab.client.sysctl("net.ipv4.tcp_syn_retries=2")
        // Without TIME_WAIT on the backends: with it, the SYNs of new
        // connections that meet a backend's TIME_WAIT socket of the same
        // (NATed) 4-tuple stall for a second in either mode, and the rate
        // falls run after run with the backends' state, not the gateway's.
        for backend in lab.backends { try backend.sysctl("net.ipv4.tcp_max_tw_buckets=0") }
        try Self.manifest(name: "web", proto: "TCP", port: Self.tcpListenerPort, backendPort: Self.httpPort)
            .write(toFile: "\(work)/manifests/web.yaml", atomically: true, encoding: .utf8)
        try Self.manifest(name: "dns", proto: "UDP", port: Self.udpListenerPort, backendPort: Self.udpSinkPort)
            .write(toFile: "\(work)/manifests/dns.yaml", atomically: true, encoding: .utf8)
        try Self.manifest(name: "web-direct", proto: "TCP", port: Self.noSNATListenerPort, backendPort: Self.httpPort, preserveClientIP: true)
            .write(toFile: "\(work)/manifests/web-direct.yaml", atomically: true, encoding: .utf8)

        // The kernel: what kube-proxy's nftables mode programs, no program attached.
        func kernelOn() throws {
            try check(lab.gateway.runAllowingFailure(["nft", "-f", "-"], input: Self.kubeProxyRuleset), "nft -f (the kube-proxy-like ruleset)")
            try check(lab.gateway.runAllowingFailure(["conntrack", "-F"]), "conntrack -F")
        }
        func kernelOff() throws {
            try lab.gateway.run(["nft", "delete", "table", "ip", "rlbench"])
            result.failures["kernel conntrack entries at the end, max", default: 0] = max(
                result.failures["kernel conntrack entries at the end, max"] ?? 0,
                Double((try? lab.gateway.run(["cat", "/proc/sys/net/netfilter/nf_conntrack_count"]))?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0)
        }
        // routelet: the agent serves the same listeners, no nftables rule;
        // each time from empty pins, detached and removed afterwards.
        var agentCPU = 0.0
        func routeletOn() throws {
            agent = try startAgent(namespace: lab.gateway, manifests: "\(work)/manifests", pins: pins, stateDir: "\(work)/state")
            try waitForTables(pins: pins, listeners: 3, backends: 3, agent: agent!)
            agentCPU -= Self.cpuSeconds(pid: agent!.process.processIdentifier)
        }
        func routeletAccount() throws {
            agentCPU += Self.cpuSeconds(pid: agent!.process.processIdentifier)
            // What the data plane refused, by reason (e.g. no free SNAT port).
            let maps = try RouterMaps.openPinned(directory: pins)
            for (reason, counter) in try maps.reasonCounters() where counter.packets > 0 && !"\(reason)".hasPrefix("gateway:") {
                result.failures["routelet reason \(reason)", default: 0] += Double(counter.packets)
            }
        }
        let flushKernel = { try check(lab.gateway.runAllowingFailure(["conntrack", "-F"]), "conntrack -F") }
        let flushRoutelet = { try Self.flushConntrack(pins: pins) }

        // Rounds: each test once in each mode, the mode that goes first
        // alternating, so that the machine's drift (other tenants on the
        // same cores) falls on both modes alike.
        for round in 1...repeats {
            for mode in round % 2 == 1 ? ["kernel", "routelet"] : ["routelet", "kernel"] {
                if mode == "kernel" {
                    try kernelOn()
                    try measureRound(mode, round: round, lab: lab, into: &result, flush: flushKernel)
                    try kernelOff()
                } else {
                    try routeletOn()
                    try measureRound(mode, round: round, lab: lab, into: &result, flush: flushRoutelet)
                    try routeletAccount()
                    routeletOff()
                }
            }
        }
        // Sustained: new connections run after run without emptying
        // anything in between, each mode once from empty.
        if selectedTests.contains("sustained") {
            try kernelOn()
            try measureSustained("kernel", lab: lab, into: &result)
            try kernelOff()
            try routeletOn()
            try measureSustained("routelet", lab: lab, into: &result)
            try routeletAccount()
            result.failures["routelet conntrack entries at the end of sustained"] =
                Double(try GatewayMaps.openPinned(directory: pins, router: RouterMaps.openPinned(directory: pins)).conntrackCount())
            routeletOff()
        }
        result.failures["routelet agent CPU seconds during the runs"] = agentCPU

        for test in Test.allCases where result.samples.contains(where: { $0.test == test.rawValue }) {
            let ours = result.samples.filter { $0.mode == "routelet" && $0.test == test.rawValue }.map(\.value)
            let theirs = result.samples.filter { $0.mode == "kernel" && $0.test == test.rawValue }.map(\.value)
            result.rows.append(Row(test: test.rawValue, unit: test.unit,
                                   routeletMedian: median(ours), routeletMin: ours.min() ?? 0, routeletMax: ours.max() ?? 0,
                                   kernelMedian: median(theirs), kernelMin: theirs.min() ?? 0, kernelMax: theirs.max() ?? 0,
                                   ratio: median(ours) / max(abs(median(theirs)), 1e-9) * (median(theirs) < 0 ? -1 : 1)))
        }
    }

    func record(_ test: Test, _ value: Double, mode: String, run: Int, into result: inout Result) {
        result.samples.append(Sample(mode: mode, test: test.rawValue, value: value))
        print(String(format: "  %@ %@ run %d: %.1f %@", mode, test.rawValue, run, value, test.unit))
    }

    /// Stalls show as the client's SYN retransmissions (a dropped SYN costs
    /// its connection a second), refusals in the backends' counters.
    func tcpCounters(_ lab: GatewayLab) throws -> [String: Double] {
        var sum = try Self.nstat(lab.client, ["TcpExtTCPSynRetrans", "TcpAttemptFails"])
        for backend in lab.backends {
            sum.merge(try Self.nstat(backend, ["TcpExtPAWSActive", "TcpExtTCPChallengeACK", "TcpOutRsts"])
                .mapKeys { "backends \($0)" }, uniquingKeysWith: +)
        }
        return sum
    }

    func account(_ what: String, mode: String, lab: GatewayLab, since before: [String: Double], into result: inout Result) throws {
        for (name, value) in try tcpCounters(lab) where value - (before[name] ?? 0) != 0 {
            result.failures["\(mode) \(what): \(name)", default: 0] += value - (before[name] ?? 0)
        }
    }

    /// Each selected test once; `flush` empties the mode's conntrack (no
    /// flow is open when it runs).
    func measureRound(_ mode: String, round: Int, lab: GatewayLab, into result: inout Result, flush: () throws -> Void) throws {
        // Both modes must serve the listener before anything is timed.
        let probe = try lab.client.runAllowingFailure(["wrk", "-t1", "-c1", "-d1", "http://\(GatewayLab.listener)/"])
        guard probe.status == 0, let requests = WrkReport(probe.stdout).requestsPerSecond, requests > 0,
              WrkReport(probe.stdout).errors == 0 else {
            throw BenchError("\(mode): the listener does not answer HTTP: \(probe.stdout) \(probe.stderr)")
        }
        // New connections on an empty conntrack: the cost of a connection
        // while ports are free.
        if selectedTests.contains("connections") {
            try flush()
            let before = try tcpCounters(lab)
            let report = try wrk(lab, url: "http://\(GatewayLab.listener)/", threads: 2, connections: connections, close: true,
                                 seconds: connectionSeconds)
            record(.connectionsFresh, report.requestsPerSecond ?? 0, mode: mode, run: round, into: &result)
            result.failures["\(mode) connections, empty ct: socket errors", default: 0] += Double(report.errors)
            result.failures["\(mode) connections, empty ct: wrk runs that could not connect", default: 0] += Double(report.connectFailures)
            try account("connections, empty ct", mode: mode, lab: lab, since: before, into: &result)
        }
        if selectedTests.contains("connections") {
            try flush()
            let before = try tcpCounters(lab)
            let report = try wrk(lab, url: "http://\(GatewayLab.listener):\(Self.noSNATListenerPort)/", threads: 2, connections: connections,
                                 close: true, seconds: connectionSeconds)
            record(.connectionsNoSNAT, report.requestsPerSecond ?? 0, mode: mode, run: round, into: &result)
            result.failures["\(mode) connections, no SNAT: socket errors", default: 0] += Double(report.errors)
            result.failures["\(mode) connections, no SNAT: wrk runs that could not connect", default: 0] += Double(report.connectFailures)
            try account("connections, no SNAT", mode: mode, lab: lab, since: before, into: &result)
        }
        if selectedTests.contains("requests") {
            try flush()
            let report = try wrk(lab, url: "http://\(GatewayLab.listener)/", threads: 2, connections: connections, close: false)
            record(.requests, report.requestsPerSecond ?? 0, mode: mode, run: round, into: &result)
            result.failures["\(mode) requests: socket errors", default: 0] += Double(report.errors)
        }
        if selectedTests.contains("udp") {
            let (received, sent) = try udpRate(lab)
            record(.udp, received / 1000, mode: mode, run: round, into: &result)
            result.failures["\(mode) UDP: sent kpps (sum of runs)", default: 0] += sent / 1000
        }
        // One connection at a time: the latency of a request, not of a queue.
        if selectedTests.contains("latency") {
            let via = try wrk(lab, url: "http://\(GatewayLab.listener)/", threads: 1, connections: 1, close: false)
            let direct = try wrk(lab, url: "http://\(GatewayLab.backendAddress(0)):\(Self.httpPort)/", threads: 1, connections: 1, close: false)
            guard let v50 = via.p50, let v99 = via.p99, let d50 = direct.p50, let d99 = direct.p99 else {
                throw BenchError("wrk printed no latency distribution")
            }
            record(.listenerP50, v50, mode: mode, run: round, into: &result)
            record(.listenerP99, v99, mode: mode, run: round, into: &result)
            record(.directP50, d50, mode: mode, run: round, into: &result)
            record(.directP99, d99, mode: mode, run: round, into: &result)
            record(.addedP50, v50 - d50, mode: mode, run: round, into: &result)
            record(.addedP99, v99 - d99, mode: mode, run: round, into: &result)
        }
    }

    /// New connections, `repeats` runs back to back, each finding what the
    /// ones before left in conntrack.
    func measureSustained(_ mode: String, lab: GatewayLab, into result: inout Result) throws {
        let before = try tcpCounters(lab)
        for run in 1...repeats {
            let report = try wrk(lab, url: "http://\(GatewayLab.listener)/", threads: 2, connections: connections, close: true)
            record(.connections, report.requestsPerSecond ?? 0, mode: mode, run: run, into: &result)
            result.failures["\(mode) connections, back to back: socket errors", default: 0] += Double(report.errors)
            result.failures["\(mode) connections, back to back: wrk runs that could not connect", default: 0] += Double(report.connectFailures)
        }
        try account("connections, back to back", mode: mode, lab: lab, since: before, into: &result)
    }

    /// nginx (HTTP/1.1, keep-alive, a fixed 200 answer) on `httpPort` and a
    /// UDP sink on `udpSinkPort` in each backend; the lab's own TCP and UDP
    /// servers stay as they are.
    func startBackendServers(lab: GatewayLab, work: String) throws -> [Command.Background] {
        var started: [Command.Background] = []
        do {
            for (index, backend) in lab.backends.enumerated() {
                let prefix = "\(work)/nginx-\(index + 1)"
                try FileManager.default.createDirectory(atPath: prefix, withIntermediateDirectories: true)
                try Self.nginxConfig(prefix: prefix, name: GatewayLab.backendName(index))
                    .write(toFile: "\(prefix)/nginx.conf", atomically: true, encoding: .utf8)
                started.append(try backend.start(["nginx", "-e", "stderr", "-p", prefix, "-c", "\(prefix)/nginx.conf"]))
                // Never read: the packets are counted at the interface; the
                // socket only keeps the kernel from answering port unreachable.
                started.append(try backend.start([Traffic.python, "-c", """
                    import socket, time
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                    s.bind(("0.0.0.0", \(Self.udpSinkPort)))
                    time.sleep(86400)
                    """]))
            }
            for backend in lab.backends {
                try Self.waitForTCP(in: backend, port: Self.httpPort)
                try Traffic.waitForUDPListener(in: backend, port: Self.udpSinkPort)
            }
        } catch {
            started.forEach { _ = $0.stop(signal: SIGKILL) }
            throw error
        }
        return started
    }

    /// User + system CPU time of a process so far.
    static func cpuSeconds(pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Fields 14 and 15 of stat (utime, stime), counted after the name.
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Absolute values of the kernel's SNMP counters in a namespace (nstat).
    static func nstat(_ host: NetworkNamespace, _ names: [String]) throws -> [String: Double] {
        var values: [String: Double] = [:]
        for line in try host.run(["nstat", "-asz"] + names).split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let value = Double(fields[1]) { values[String(fields[0])] = value }
        }
        return values
    }

    static func waitForTCP(in host: NetworkNamespace, port: Int) throws {
        for _ in 0..<100 {
            if !(try host.run(["ss", "-Hltn", "sport = :\(port)"])).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw BenchError("nothing listens on TCP port \(port) in \(host.name) after 5 s")
    }

    static func nginxConfig(prefix: String, name: String) -> String {
        """
        daemon off;
        master_process off;
        worker_processes 1;
        pid \(prefix)/nginx.pid;
        error_log stderr warn;
        events { worker_connections 4096; }
        http {
            access_log off;
            client_body_temp_path \(prefix)/body;
            proxy_temp_path \(prefix)/proxy;
            fastcgi_temp_path \(prefix)/fastcgi;
            uwsgi_temp_path \(prefix)/uwsgi;
            scgi_temp_path \(prefix)/scgi;
            keepalive_requests 10000000;
            keepalive_timeout 60s;
            server {
                listen \(httpPort) backlog=4096;
                location / { return 200 "\(name)\\n"; }
            }
        }
        """
    }

    /// What kube-proxy's nftables mode programs for a LoadBalancer IP with
    /// three endpoints (its chain layout: a services map, a service chain
    /// that marks external traffic for masquerade and picks an endpoint
    /// with numgen random, one DNAT chain per endpoint, masquerade of marked
    /// packets in postrouting, fully-random).
    static var kubeProxyRuleset: String {
        let backends = (0..<3).map { GatewayLab.backendAddress($0) }
        func endpoints(_ proto: String, _ port: Int) -> String {
            backends.enumerated().map { index, address in
                "  chain ep-\(proto)-\(index) { meta l4proto \(proto) dnat to \(address):\(port); }"
            }.joined(separator: "\n")
        }
        func service(_ proto: String, masquerade: Bool = true) -> String {
            let vmap = (0..<3).map { "\($0) : goto ep-\(proto)-\($0)" }.joined(separator: ", ")
            return "  chain svc-\(proto)\(masquerade ? "" : "-local") { \(masquerade ? "jump mark-for-masquerade; " : "")numgen random mod 3 vmap { \(vmap) }; }"
        }
        return """
            table ip rlbench {
              chain mark-for-masquerade { meta mark set meta mark or 0x4000; }
              chain masquerading {
                type nat hook postrouting priority srcnat; policy accept;
                meta mark & 0x4000 == 0 return
                meta mark set meta mark xor 0x4000
                masquerade fully-random
              }
            \(endpoints("tcp", httpPort))
            \(endpoints("udp", udpSinkPort))
            \(service("tcp"))
            \(service("udp"))
            \(service("tcp", masquerade: false))
              chain services {
                type nat hook prerouting priority dstnat; policy accept;
                ip daddr . meta l4proto . th dport vmap { \(GatewayLab.listener) . tcp . \(tcpListenerPort) : goto svc-tcp, \(GatewayLab.listener) . udp . \(udpListenerPort) : goto svc-udp, \(GatewayLab.listener) . tcp . \(noSNATListenerPort) : goto svc-tcp-local }
              }
            }
            """
    }

    /// The equivalent GatewayRoute: three static backends, weight 1, SNAT (the default).
    static func manifest(name: String, proto: String, port: Int, backendPort: Int, preserveClientIP: Bool = false) -> String {
        let lines = (0..<3).map { "    - {addresses: [\(GatewayLab.backendAddress($0))], port: \(backendPort), weight: 1}" }
        return """
            apiVersion: routelet.dev/v1alpha1
            kind: GatewayRoute
            metadata: {name: \(name), namespace: default}
            spec:
              listener: {address: \(GatewayLab.listener), port: \(port), protocol: \(proto)\(preserveClientIP ? ", preserveClientIP: true" : "")}
              rules:
              - backends:
            \(lines.joined(separator: "\n"))
            """
    }

    func waitForTables(pins: String, listeners: Int, backends: Int, agent: RouteletProcess) throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let router = try? RouterMaps.openPinned(directory: pins),
               let tables = try? GatewayMaps.openPinned(directory: pins, router: router).allMaglev(),
               tables.count == listeners, tables.values.allSatisfy({ Set($0.slots ?? []).count == backends }) {
                return
            }
            guard agent.process.isRunning else { throw BenchError("the agent exited:\n\(agent.rawLog)") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw BenchError("the agent did not program \(listeners) Maglev tables of \(backends) backends in 30 s:\n\(agent.rawLog)")
    }

    // MARK: wrk

    /// What wrk printed: requests/s, errors, latency percentiles (µs).
    struct WrkReport {
        var requestsPerSecond: Double?
        var errors = 0
        var connectFailures = 0
        var p50: Double?
        var p99: Double?

        init(_ text: String) {
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                guard let first = fields.first else { continue }
                if first == "Requests/sec:", fields.count > 1 { requestsPerSecond = Double(fields[1]) }
                if first == "50%", fields.count > 1 { p50 = Self.microseconds(fields[1]) }
                if first == "99%", fields.count > 1 { p99 = Self.microseconds(fields[1]) }
                if line.contains("Socket errors:") {
                    // "Socket errors: connect 0, read 0, write 0, timeout 0"
                    errors += fields.compactMap { Int($0.trimmingCharacters(in: CharacterSet(charactersIn: ","))) }.reduce(0, +)
                }
                if line.contains("Non-2xx or 3xx responses:"), let count = fields.last.flatMap({ Int($0) }) { errors += count }
            }
        }

        static func microseconds(_ text: String) -> Double? {
            for (suffix, scale) in [("us", 1.0), ("ms", 1000.0), ("s", 1e6)] where text.hasSuffix(suffix) {
                return Double(text.dropLast(suffix.count)).map { $0 * scale }
            }
            return nil
        }
    }

    func wrk(_ lab: GatewayLab, url: String, threads: Int, connections: Int, close: Bool, seconds: Int? = nil) throws -> WrkReport {
        let arguments = ["wrk", "-t\(threads)", "-c\(connections)", "-d\(seconds ?? self.seconds)s", "--latency", "--timeout", "2s"]
            + (close ? ["-H", "Connection: close"] : []) + [url]
        let run = try lab.client.runAllowingFailure(arguments)
        var report = WrkReport(run.stdout)
        if run.stderr.contains("unable to connect") {
            // wrk gives up when a connection of its start fails (its SYNs
            // unanswered for --timeout): the run counts as 0 and as a failure.
            print("  wrk \(url): \(run.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
            report.requestsPerSecond = 0
            report.connectFailures = 1
            return report
        }
        guard run.status == 0, report.requestsPerSecond != nil else {
            throw BenchError("wrk \(url) failed: \(run.stdout) \(run.stderr)")
        }
        return report
    }

    /// Deletes every entry of the agent's pinned conntrack map (between
    /// runs, with no flow open): the benchmark's own doing, not the agent's.
    static func flushConntrack(pins: String) throws {
        let fd = bpf_obj_get("\(pins)/rl_conntrack")
        guard fd >= 0 else { throw BenchError("cannot open \(pins)/rl_conntrack: errno \(errno)") }
        defer { close(fd) }
        var info = bpf_map_info()
        var length = UInt32(MemoryLayout<bpf_map_info>.size)
        guard bpf_obj_get_info_by_fd(fd, &info, &length) == 0 else { throw BenchError("bpf_obj_get_info_by_fd: errno \(errno)") }
        var keys: [[UInt8]] = []
        var key = [UInt8](repeating: 0, count: Int(info.key_size)), next = key
        var found = bpf_map_get_next_key(fd, nil, &next) == 0
        while found {
            keys.append(next)
            key = next
            found = bpf_map_get_next_key(fd, &key, &next) == 0
        }
        for key in keys { _ = bpf_map_delete_elem(fd, key) }
    }

    // MARK: UDP

    /// 64-byte frames to the UDP listener from `udpSenders` processes with 16
    /// flows each, counted as packets arriving at the backends' interfaces.
    /// Returns (received pps, sent pps).
    func udpRate(_ lab: GatewayLab) throws -> (Double, Double) {
        func received() throws -> Double {
            try lab.backends.reduce(0.0) { sum, backend in
                sum + (Double(try backend.run(["cat", "/sys/class/net/eth0/statistics/rx_packets"])
                    .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0)
            }
        }
        let before = try received()
        let output = try lab.client.run([Traffic.python, "-c", """
            import os, socket, time
            senders, flows, seconds = \(udpSenders), 16, \(seconds)
            payload = b"x" * 18   # + UDP 8 + IPv4 20 + Ethernet 14 = 60, 64 on a wire
            def send(k, w):
                socks = []
                for i in range(flows):
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    s.bind(("\(GatewayLab.clientAddress)", 40000 + k * flows + i))
                    s.connect(("\(GatewayLab.listener)", \(Self.udpListenerPort)))
                    socks.append(s.send)
                n, end = 0, time.time() + seconds
                while time.time() < end:
                    for f in socks:
                        for _ in range(32):
                            try:
                                f(payload)
                            except OSError:
                                pass
                    n += 32 * flows
                os.write(w, b"%d\\n" % n)
            pipes, pids = [], []
            for k in range(senders):
                r, w = os.pipe()
                pid = os.fork()
                if pid == 0:
                    send(k, w); os._exit(0)
                pipes.append(r); pids.append(pid)
            for pid in pids: os.waitpid(pid, 0)
            print(sum(int(os.read(r, 64)) for r in pipes))
            """])
        Thread.sleep(forTimeInterval: 0.2)   // the last packets in flight
        let after = try received()
        let sent = Double(output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last ?? "") ?? 0
        return ((after - before) / Double(seconds), sent / Double(seconds))
    }

    // MARK: - BPF_PROG_TEST_RUN: the gateway stage per packet

    /// The test-run lab: one namespace with an interface towards the
    /// backends' and the client's subnets (neighbours permanent), the
    /// listener and its backends written straight into the maps. Per sample
    /// a listener of its own (its backends on a port of their own), so that
    /// new flows never run out of SNAT ports across samples.
    func measureCosts(into result: inout Result) throws {
        try Self.withTestRunLab("gwcost") { dataplane, pins in
            let maps = dataplane.maps, gateway = dataplane.gateway
            let out0 = Interfaces.index(of: "out0")!, out1 = Interfaces.index(of: "out1")!
            // lo (the test run's ingress): the gateway stage only, as on the lab's gateway.
            try maps.bind(ifindex: 1, table: 0, gateway: true)
            // out1: a RouteTable only; out0: a RouteTable on a gateway interface.
            try maps.bind(ifindex: out1, table: 1)
            try maps.bind(ifindex: out0, table: 1, gateway: true)
            try maps.setGroup(1, [NextHop(ifindex: out0, gateway: IPAddress("198.18.30.2"))])
            try maps.setRoute(RouteKey(table: 1, prefix: IPPrefix("198.18.64.0/18")!), RouteEntry(id: 1, action: .forward(group: 1)))
            // The client's and the backends' subnets, on-link: on out0 the
            // gateway's next hop comes from this route instead of the FIB.
            try maps.setGroup(2, [NextHop(ifindex: out0, gateway: nil)])
            try maps.setRoute(RouteKey(table: 1, prefix: IPPrefix("198.18.0.0/19")!), RouteEntry(id: 2, action: .forward(group: 2)))
            var nextBackend: UInt32 = 1
            for sample in 0..<samplesPerCase {
                for proto in [L4Protocol.tcp, .udp] {
                    let listenerID = UInt32(sample * 2 + (proto == .tcp ? 0 : 1))
                    var ids: [UInt32] = []
                    for index in 0..<3 {
                        try gateway.setBackend(nextBackend, BackendEntry(address: IPAddress(GatewayLab.backendAddress(index))!,
                                                                          port: UInt16(9100 + sample),
                                                                          snatAddress: IPAddress(GatewayLab.gatewayAddress(backend: index))),
                                               isNew: true)
                        ids.append(nextBackend)
                        nextBackend += 1
                    }
                    let table = Maglev.table(ids.map { MaglevBackend(key: "\($0)") }).map { ids[Int($0)] }
                    try gateway.setMaglev(listenerID: listenerID, slots: table)
                    try gateway.resetListenerCounter(listenerID)
                    try gateway.setListener(ListenerKey(address: IPAddress(GatewayLab.listener)!, port: UInt16(1000 + sample), proto: proto),
                                            ListenerEntry(id: listenerID, snat: true, maglevSize: UInt32(table.count), idleTimeoutSeconds: 300))
                }
            }

            var perProgram: [String: [Double]] = [:]
            func measure(_ object: String, _ program: String, as name: String, packet: [UInt8], ingress: UInt32,
                         repeat count: Int, expect verdict: Int32) throws -> TestRunResult {
                // A fresh load: the wrapper's saved packet starts empty.
                let loaded = try BPFObject(base64: object == "router" ? BPFObjects.bench_router
                                           : object == "empty" ? BPFObjects.bench_empty : BPFObjects.bench_gateway,
                                           name: "bench_\(object)", pinRoot: object == "empty" ? nil : pins)
                let run = try TestRun.run(programFD: try loaded.programFD(program), packet: packet, ingressIfindex: ingress, repeat: count)
                guard run.verdict == verdict else {
                    let reasons = try maps.reasonCounters().filter { $0.value.packets > 0 }.map { "\($0.key)=\($0.value.packets)" }
                    throw BenchError("\(name): \(program) returned \(run.verdict), expected \(verdict) (reasons so far: \(reasons))")
                }
                perProgram[name, default: []].append(Double(run.nanosecondsPerRun))
                result.costSamples.append(CostSample(program: name, nanoseconds: Double(run.nanosecondsPerRun)))
                return run
            }
            func packet(_ proto: L4Protocol, from: String, _ sport: Int, to: String, _ dport: Int, flags: UInt8) -> [UInt8] {
                var packet = Packet(from: from, to: to)
                packet.proto = proto.rawValue
                packet.sourcePort = UInt16(sport)
                packet.destinationPort = UInt16(dport)
                packet.tcpFlags = flags
                packet.payloadLength = 64
                return packet.bytes
            }
            let redirect: Int32 = 7
            for sample in 0..<samplesPerCase {
                let clientPort = 30000 + sample, port = 1000 + sample
                let tcp = packet(.tcp, from: GatewayLab.clientAddress, clientPort, to: GatewayLab.listener, port, flags: 0x10)
                let udp = packet(.udp, from: GatewayLab.clientAddress, clientPort, to: GatewayLab.listener, port, flags: 0)
                // Hits: the first run opens the flow, every later one finds it.
                let forward = try measure("gateway", "rl_bench_gw", as: "gateway, conntrack hit, TCP client -> backend",
                                          packet: tcp, ingress: 1, repeat: repeatCount, expect: redirect)
                _ = try measure("gateway", "rl_bench_gw", as: "gateway, conntrack hit, UDP client -> backend",
                                packet: udp, ingress: 1, repeat: repeatCount, expect: redirect)
                // The reply of the same TCP flow, from what the NAT made of it.
                let out = forward.output
                let reply = packet(.tcp, from: IPAddress(bytes: out[30..<34])!.description, Int(out[36]) << 8 | Int(out[37]),
                                   to: IPAddress(bytes: out[26..<30])!.description, Int(out[34]) << 8 | Int(out[35]), flags: 0x10)
                _ = try measure("gateway", "rl_bench_gw", as: "gateway, conntrack hit, TCP reply backend -> client",
                                packet: reply, ingress: 1, repeat: repeatCount, expect: redirect)
                let tcpOut0 = packet(.tcp, from: GatewayLab.clientAddress, clientPort + 1000, to: GatewayLab.listener, port, flags: 0x10)
                _ = try measure("gateway", "rl_bench_gw", as: "gateway, conntrack hit, TCP, next hop from a RouteTable",
                                packet: tcpOut0, ingress: out0, repeat: repeatCount, expect: redirect)
                _ = try measure("gateway", "rl_bench_gw_restore", as: "restore", packet: tcp, ingress: 1, repeat: repeatCount, expect: 0)
                // New flows: another source port every run.
                let syn = packet(.tcp, from: "198.18.10.\(100 + sample)", 1024, to: GatewayLab.listener, port, flags: 0x02)
                let udpNew = packet(.udp, from: "198.18.10.\(100 + sample)", 1024, to: GatewayLab.listener, port, flags: 0)
                _ = try measure("gateway", "rl_bench_gw_new", as: "gateway, new flow, TCP SYN", packet: syn, ingress: 1,
                                repeat: newFlowRepeat, expect: redirect)
                _ = try measure("gateway", "rl_bench_gw_new", as: "gateway, new flow, UDP", packet: udpNew, ingress: 1,
                                repeat: newFlowRepeat, expect: redirect)
                _ = try measure("gateway", "rl_bench_gw_restore_new", as: "restore, new flow", packet: syn, ingress: 1,
                                repeat: newFlowRepeat, expect: 0)
                // The router's own path over one route, on a plain interface
                // and on a gateway interface (conntrack and listener misses first).
                let routed = packet(.tcp, from: GatewayLab.clientAddress, clientPort, to: "198.18.70.\(1 + sample)", 80, flags: 0x10)
                _ = try measure("router", "rl_bench_router", as: "router, RouteTable lookup + forward", packet: routed,
                                ingress: out1, repeat: repeatCount, expect: redirect)
                _ = try measure("router", "rl_bench_router", as: "router, the same on a gateway interface", packet: routed,
                                ingress: out0, repeat: repeatCount, expect: redirect)
                _ = try measure("router", "rl_bench_restore", as: "restore, TTL", packet: routed, ingress: out1,
                                repeat: repeatCount, expect: 0)
                _ = try measure("empty", "rl_bench_empty", as: "empty", packet: tcp, ingress: 1, repeat: repeatCount, expect: 0)
            }
            let floor = median(perProgram["empty"]!)
            result.costEmptyNs = floor
            let restores: [(String, String, Int)] = [
                ("gateway, conntrack hit, TCP client -> backend", "restore", repeatCount),
                ("gateway, conntrack hit, TCP reply backend -> client", "restore", repeatCount),
                ("gateway, conntrack hit, UDP client -> backend", "restore", repeatCount),
                ("gateway, conntrack hit, TCP, next hop from a RouteTable", "restore", repeatCount),
                ("gateway, new flow, TCP SYN", "restore, new flow", newFlowRepeat),
                ("gateway, new flow, UDP", "restore, new flow", newFlowRepeat),
                ("router, RouteTable lookup + forward", "restore, TTL", repeatCount),
                ("router, the same on a gateway interface", "restore, TTL", repeatCount),
            ]
            for (name, restore, count) in restores {
                let raw = median(perProgram[name]!), restoring = median(perProgram[restore]!)
                let net = raw - (restoring - floor)
                result.costs.append(CostRow(program: name, repeatCount: count, rawNs: raw, restoreNs: restoring, netNs: net,
                                            netOfFloorNs: net - floor))
                print(String(format: "  %-56@ %7.1f ns (raw %.1f, restore %.1f, empty %.1f)", name, net, raw, restoring, floor))
            }
        }
    }

    /// The namespace of the BPF_PROG_TEST_RUN cases: `out0` toward the
    /// client's and the backends' subnets (their neighbours permanent, so
    /// no packet waits for ARP), the data plane loaded with pins of its own;
    /// `body` runs inside the namespace. Everything is removed after.
    static func withTestRunLab(_ name: String, _ body: (Dataplane, _ pins: String) throws -> Void) throws {
        let ns = try NetworkNamespace(name)
        let pins = "/sys/fs/bpf/rlbench-\(name)-\(getpid())"
        defer {
            Dataplane.removePins(in: pins)
            ns.delete()
        }
        try ns.sysctl("net.ipv4.ip_forward=1")
        try ns.ip("link add out0 type veth peer name out1")
        try ns.ip("link set out0 up")
        try ns.ip("link set out1 up")
        try ns.ip("addr add 198.18.10.1/24 dev out0")
        try ns.ip("neigh replace \(GatewayLab.clientAddress) lladdr 02:00:00:00:00:0a dev out0 nud permanent")
        for index in 0..<3 {
            try ns.ip("addr add \(GatewayLab.gatewayAddress(backend: index))/24 dev out0")
            try ns.ip("neigh replace \(GatewayLab.backendAddress(index)) lladdr 02:00:00:00:00:2\(index) dev out0 nud permanent")
        }
        try ns.ip("neigh replace 198.18.30.2 lladdr 02:00:00:00:00:30 dev out0 nud permanent")
        try ns.enter { try body(try Dataplane(pinDirectory: pins), pins) }
    }

    // MARK: - Maglev build and swap

    func measureMaglev() throws -> [MaglevRow] {
        let pins = "/sys/fs/bpf/rlbench-maglev-\(getpid())"
        let ns = try NetworkNamespace("gwmaglev")
        defer {
            Dataplane.removePins(in: pins)
            ns.delete()
        }
        return try ns.enter {
            let gateway = try Dataplane(pinDirectory: pins).gateway
            let backends = (0..<maglevBackends).map { MaglevBackend(key: "10.\($0 / 250).\($0 % 250).1:8080") }
            var rows: [MaglevRow] = []
            for size in [16381, 65537] {
                var build: [Double] = [], swap: [Double] = []
                for _ in 0..<maglevRepeats {
                    let start = DispatchTime.now().uptimeNanoseconds
                    let table = Maglev.table(backends, size: size)
                    let built = DispatchTime.now().uptimeNanoseconds
                    let slots = table.map { $0 + 1 }   // backend ids start at 1
                    let mapped = DispatchTime.now().uptimeNanoseconds
                    try gateway.setMaglev(listenerID: 0, slots: slots)
                    let swapped = DispatchTime.now().uptimeNanoseconds
                    guard Set(table).count == maglevBackends else { throw BenchError("the Maglev table of \(size) slots misses backends") }
                    build.append(Double(built - start) / 1e6)
                    swap.append(Double(swapped - mapped) / 1e6)
                }
                let row = MaglevRow(size: size, backends: maglevBackends,
                                    buildMsMedian: median(build), buildMsMin: build.min()!, buildMsMax: build.max()!,
                                    swapMsMedian: median(swap), swapMsMin: swap.min()!, swapMsMax: swap.max()!)
                print(String(format: "  %6d slots: build %.2f ms (%.2f-%.2f), swap %.3f ms (%.3f-%.3f)", size,
                             row.buildMsMedian, row.buildMsMin, row.buildMsMax, row.swapMsMedian, row.swapMsMin, row.swapMsMax))
                rows.append(row)
            }
            return rows
        }
    }

    // MARK: - Tables

    func printTables(_ result: Result) {
        func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
        if !result.rows.isEmpty {
            print("")
            print(pad("test", 32) + pad("routelet: median (min-max)", 32) + pad("kernel NAT: median (min-max)", 32) + "routelet/kernel")
            for row in result.rows {
                let digits = row.unit == "kpps received" ? "%.1f (%.1f-%.1f)" : "%.0f (%.0f-%.0f)"
                print(pad(row.test, 32)
                    + pad(String(format: digits, row.routeletMedian, row.routeletMin, row.routeletMax), 32)
                    + pad(String(format: digits, row.kernelMedian, row.kernelMin, row.kernelMax), 32)
                    + String(format: "%.2f  [%@]", row.ratio, row.unit))
            }
            for (key, value) in result.failures.sorted(by: { $0.key < $1.key }) {
                print(String(format: "  %@: %.0f", key, value))
            }
        }
        if !result.costs.isEmpty {
            print("")
            print(pad("per packet (BPF_PROG_TEST_RUN)", 58) + pad("ns", 10) + pad("net of floor", 14) + "/ router")
            let router = result.costs.first { $0.program.hasPrefix("router, RouteTable") }?.netOfFloorNs ?? 1
            for row in result.costs {
                print(pad(row.program, 58) + pad(String(format: "%.1f", row.netNs), 10) + pad(String(format: "%.1f", row.netOfFloorNs), 14)
                    + String(format: "%.2f", row.netOfFloorNs / max(router, 0.1)))
            }
            print(String(format: "(empty program, the harness floor: %.1f ns)", result.costEmptyNs))
        }
        if !result.maglev.isEmpty {
            print("")
            print(pad("Maglev table", 16) + pad("backends", 10) + pad("build: median (min-max)", 28) + "swap into the kernel: median (min-max)")
            for row in result.maglev {
                print(pad("\(row.size) slots", 16) + pad("\(row.backends)", 10)
                    + pad(String(format: "%.2f ms (%.2f-%.2f)", row.buildMsMedian, row.buildMsMin, row.buildMsMax), 28)
                    + String(format: "%.3f ms (%.3f-%.3f)", row.swapMsMedian, row.swapMsMin, row.swapMsMax))
            }
        }
    }
}

/// Throws when a command run with `runAllowingFailure` failed.
func check(_ run: (status: Int32, stdout: String, stderr: String), _ what: String) throws {
    guard run.status == 0 else { throw BenchError("\(what) failed (\(run.status)): \(run.stderr)\(run.stdout)") }
}

extension Dictionary {
    func mapKeys(_ transform: (Key) -> Key) -> [Key: Value] {
        Dictionary(uniqueKeysWithValues: map { (transform($0.key), $0.value) })
    }
}
