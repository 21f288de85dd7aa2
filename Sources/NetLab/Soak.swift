import Dataplane
import DataplaneModel
import Foundation
import Synchronization

/// The soak (`make soak`, and 60 s of it in `make test`): the three-node
/// ``ClusterLab`` and its gateway node under continuous traffic (ping and a
/// TCP stream through every router node, A to B, on table transit; new TCP
/// connections and HTTP requests through the gateway node, see
/// SoakGateway.swift), while a driver injects faults one after another at
/// random intervals, and after each one waits until the whole cluster has
/// converged again. See docs/soak.md.
///
/// The faults never touch what the monitored traffic crosses (table
/// transit's routes to A and B, the filters on ra and rb, the backends):
/// they hit table edge, C's subnet and link, the EndpointSlices, the agents
/// and the API server. So "no packet lost" is a promise the soak can hold
/// routelet to: a fault elsewhere, an agent restart or an API server
/// restart must not cost a packet, a connection or a request.
public final class Soak: Sendable {
    public enum Fault: String, CaseIterable, Codable, Sendable {
        /// kubectl apply of a valid change of table transit (a blackhole route added or removed).
        case validEdit
        /// kubectl apply of an invalid table: refused with a 4xx, nothing changes.
        case invalidEdit
        /// A node's link rc down, then up again.
        case linkFlap
        /// kill -9 of an agent, started again after a random pause (as a DaemonSet would).
        case agentKill
        /// kill -9 of the API server, started again on the same data.
        case apiServerRestart
        /// A route deleted from a node's pinned map, behind its agent's back.
        case mapEntryDelete
        /// A node's TC filter on rc deleted, behind its agent's back.
        case filterDelete
        /// One backend's endpoint in the gateway's EndpointSlices made ready,
        /// not ready, or removed from the slices.
        case endpointChurn
    }

    public struct Report: Codable, Sendable {
        public struct Check: Codable, Sendable {
            public var passed = 0
            public var failed = 0
            /// The first few failures, in words.
            public var failures: [String] = []
        }
        public struct Memory: Codable, Sendable {
            public var maxMiB: Double
            /// Least squares over the samples of the process that lived
            /// longest, after its first ``Soak/warmUp`` seconds; nil when none
            /// lived ``Soak/growthSpan`` seconds past its warm-up (a process
            /// the soak keeps killing has no long-term growth to measure).
            public var growthMiBPerHour: Double?
            /// The longest life of one process (pid) under this name, in seconds.
            public var longestLifeSeconds: Double
            public var samples: Int
        }
        public var commit: String
        public var machine: String
        public var seed: UInt64
        public var seconds: Double
        public var faults: [String: Int] = [:]
        public var checks: [String: Check] = [:]
        /// Worst time from a fault's end to a converged cluster, by fault kind.
        public var worstConvergenceSeconds: [String: Double] = [:]
        public var packets: [String: String] = [:]
        public var tcpStreams: [String: String] = [:]
        /// The gateway node's traffic: "tcp" (new connections), "http" (requests).
        public var gateway: [String: String] = [:]
        public var memory: [String: Memory] = [:]
        public var apiRequestsPerSecond: [String: Double] = [:]

        public var failed: [String] { checks.filter { $0.value.failed > 0 }.map(\.key).sorted() }
    }

    public let seconds: Double
    public let seed: UInt64
    let progress: @Sendable (String) -> Void
    let state = Mutex(Report(commit: "", machine: "", seed: 0, seconds: 0))

    /// Bounds of the checks.
    public static let maxRSSMiB = 300.0
    public static let maxRequestsPerSecond = 60.0
    public static let convergenceTimeout = 30.0
    /// Memory growth is measured after a process's first 30 s, over at least 120 s.
    public static let warmUp = 30.0
    public static let growthSpan = 120.0
    /// The node whose agent is never killed, so that its memory is measured
    /// over the whole run (it gets every other fault).
    public static let witness = 2

    public init(seconds: Double, seed: UInt64, progress: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.seconds = seconds
        self.seed = seed
        self.progress = progress
    }

    // MARK: What the cluster must converge to

    static let transit = ["198.18.1.0/24", "198.18.2.0/24", "198.18.3.0/24", "2001:db8:1::/64", "2001:db8:2::/64", "2001:db8:3::/64"]
    static let edge = ["198.18.1.0/24", "2001:db8:1::/64"]
    static let blackhole = "198.18.66.0/24"

    /// The cluster's tables, with the blackhole when it is on, and with a
    /// route that has host bits set when `invalid` (refused whole).
    static func tables(blackhole: Bool, invalid: Bool = false) throws -> String {
        try ClusterLab.tables(extraTransitRoutes: (blackhole ? ["{destination: \(Self.blackhole), type: Blackhole}"] : [])
                              + (invalid ? ["{destination: 198.18.67.1/24, type: Blackhole}"] : []))
    }

    // MARK: Running

    public func run() throws -> Report {
        var random = SplitMix64(seed: seed)
        let cluster = try ClusterLab(gateway: true)
        defer { cluster.delete() }
        guard let gatewayNode = cluster.gateway else { throw ServerTestError("the soak's cluster has no gateway node") }
        // The agents: the router nodes', then the gateway node's (which starts routelet gateway).
        let names = cluster.nodes.map(\.name) + [gatewayNode.name]
        let gatewayIndex = cluster.nodes.count
        func startAgent(_ index: Int) throws -> RouteletProcess {
            index == gatewayIndex ? try cluster.startGatewayAgent(resync: "2s") : try cluster.startAgent(index, resync: "2s")
        }
        state.withLock {
            $0.commit = Self.commit()
            $0.machine = Self.machine()
            $0.seed = seed
            for fault in Fault.allCases { $0.faults[fault.rawValue] = 0 }
        }
        let requestLog = cluster.directory + "/requests.jsonl"
        let serverArguments = ["--request-log", requestLog]
        var server = try cluster.startAPIServer(extra: serverArguments)
        try cluster.registerNodes()
        var agents = try names.indices.map(startAgent)
        var blackholeOn = false
        var endpoints = [Endpoint](repeating: .ready, count: 3)
        try cluster.apply(Self.tables(blackhole: false))
        try cluster.apply(Self.gatewayManifest(endpoints))
        let started = Date()
        func converged(within timeout: Double) throws -> Double? {
            try self.converged(cluster, agents: agents, server: server, blackhole: blackholeOn, endpoints: endpoints, within: timeout)
        }
        try require(converged(within: 60), "the first convergence")
        guard let gatewayPID = agents[gatewayIndex].gatewayPID else { throw ServerTestError("the gateway node's agent started no routelet gateway") }
        for node in cluster.nodes { _ = try Traffic.ping(from: node.lab.hostA, RouterLab.address(host: 2).v4, count: 1) }
        progress("soak: cluster up in \(String(format: "%.1f", Date().timeIntervalSince(started))) s; \(Int(seconds)) s of faults, seed \(seed)")

        // Traffic for the whole soak: ping asks for an interval of 10 ms
        // and gets what the machine gives, so its pace is measured first and
        // the count made to last as long as the faults. (A ping stopped by a
        // signal could count a packet in flight as lost.)
        let b = RouterLab.address(host: 2)
        let paceStart = Date()
        _ = try cluster.nodes[0].lab.hostA.run(["ping", "-n", "-q", "-c", "100", "-i", "0.01", "-W", "1", b.v4])
        let pingCount = max(100, Int(seconds * 100 / Date().timeIntervalSince(paceStart)))
        let pings = try cluster.nodes.map { try $0.lab.hostA.start(["ping", "-n", "-q", "-c", "\(pingCount)", "-i", "0.01", "-W", "1", b.v4]) }
        let sinks = try cluster.nodes.map { try $0.lab.hostB.start([Traffic.python, "-c", Self.tcpSink(b.v4)]) }
        let streams = try cluster.nodes.map { try $0.lab.hostA.start([Traffic.python, "-c", Self.tcpSource(b.v4, seconds: seconds + 2)]) }
        let connector = try gatewayNode.lab.client.start([Traffic.python, "-c", Self.tcpConnector(seconds: seconds)])
        let httpLoad = try gatewayNode.lab.client.start([Traffic.python, "-c", Self.httpLoad(seconds: seconds)])
        defer { (pings + sinks + streams + [connector, httpLoad]).forEach { $0.stop(signal: SIGKILL) } }

        // RSS and the API server's request rate, sampled every 5 s.
        let sampler = Sampler()
        func publish() {
            sampler.processes.withLock { table in
                table["apiserver"] = server.process.processIdentifier
                for (name, agent) in zip(names, agents) { table[name] = agent.process.processIdentifier }
                table["gateway"] = gatewayPID
            }
        }
        publish()
        let samplerThread = Thread { self.sample(sampler, started: started, requestLog: requestLog) }
        samplerThread.start()

        // The faults: every kind in turn, in a random order each round.
        let end = started.addingTimeInterval(seconds)
        var round: [Fault] = []
        while Date() < end {
            if round.isEmpty { round = Fault.allCases.shuffled(using: &random) }
            let fault = round.removeFirst()
            var node = random.int(in: 0...(cluster.nodes.count - 1))
            // Any agent but the witness's, the gateway node's included.
            if fault == .agentKill { node = [Int](names.indices).filter { $0 != Self.witness }[random.int(in: 0...(names.count - 2))] }
            let edgeNode = random.int(in: 0...1)   // node-1 or node-2: where rc is bound
            let churn = fault == .endpointChurn ? Self.churn(&endpoints, using: &random) : ""
            progress("soak: \(fault.rawValue)" + ([.linkFlap, .agentKill, .mapEntryDelete].contains(fault) ? " on \(names[node])"
                : fault == .filterDelete ? " on \(names[edgeNode])" : fault == .endpointChurn ? ": \(churn)" : ""))
            switch fault {
            case .validEdit:
                blackholeOn.toggle()
                let result = try cluster.kubectl(["apply", "-f", "-"], input: try Self.tables(blackhole: blackholeOn))
                record("valid edits accepted", result.status == 0, "kubectl apply: \(result.stderr)")
            case .invalidEdit:
                let result = try cluster.kubectl(["apply", "-f", "-"], input: try Self.tables(blackhole: blackholeOn, invalid: true))
                record("invalid edits refused with a 4xx that names the field", result.status != 0 && result.stderr.contains("host bits")
                       && !result.stderr.contains("InternalError"), "kubectl apply of an invalid table: \(result.status) \(result.stderr)")
            case .linkFlap:
                try cluster.nodes[node].router.setLink("rc", up: false)
                Thread.sleep(forTimeInterval: Double(random.int(in: 200...1500)) / 1000)
                try cluster.nodes[node].router.setLink("rc", up: true)
            case .agentKill:
                agents[node].stop(signal: SIGKILL, leavingGateway: true)
                Thread.sleep(forTimeInterval: Double(random.int(in: 100...2000)) / 1000)
                agents[node] = try startAgent(node)
                publish()
            case .apiServerRestart:
                server.stop(signal: SIGKILL)
                Thread.sleep(forTimeInterval: Double(random.int(in: 100...2000)) / 1000)
                server = try cluster.startAPIServer(extra: serverArguments)
                publish()
            case .mapEntryDelete:
                let maps = try RouterMaps.openPinned(directory: cluster.nodes[node].pins)
                let victim = try maps.routes().routes.keys.first { $0.prefix.description == "198.18.3.0/24" }
                record("a map entry to delete was there", try victim.map { try maps.removeRoute($0) } == true, "no 198.18.3.0/24 on \(cluster.nodes[node].name)")
            case .filterDelete:
                let result = try cluster.nodes[edgeNode].router.runAllowingFailure(["tc", "filter", "del", "dev", "rc", "ingress", "pref", "1", "handle", "0x726c", "bpf"])
                record("a filter to delete was there", result.status == 0, "tc filter del on \(cluster.nodes[edgeNode].name): \(result.stderr)")
            case .endpointChurn:
                let result = try cluster.kubectl(["apply", "-f", "-"], input: Self.gatewayManifest(endpoints))
                record("valid edits accepted", result.status == 0, "kubectl apply of the EndpointSlices: \(result.stderr)")
            }
            state.withLock { $0.faults[fault.rawValue, default: 0] += 1 }
            let took = try converged(within: Self.convergenceTimeout)
            record("converged after each fault (within \(Int(Self.convergenceTimeout)) s)", took != nil, "not converged after \(fault.rawValue)")
            record("converged within one resync period (2 s) and 3 s for a pass and the status", took.map { $0 < 5 } ?? false,
                   "\(fault.rawValue): \(took.map { String(format: "%.2f s", $0) } ?? "never")")
            // A process that died by itself (not by the driver's hand) shows here, as in the end;
            // routelet gateway outlives its agent's restarts, so it is the same process all along.
            record("no crash", agents.allSatisfy(\.process.isRunning) && server.process.isRunning && agents[gatewayIndex].gatewayPID == gatewayPID,
                   "after \(fault.rawValue): " + (agents.enumerated().filter { !$1.process.isRunning }
                       .map { "\(names[$0])'s agent: \($1.rawLog.suffix(2000))" } + (server.process.isRunning ? [] : ["the API server: \(server.rawLog.suffix(2000))"])
                       + (agents[gatewayIndex].gatewayPID == gatewayPID ? [] : ["routelet gateway \(gatewayPID) is gone: \(agents[gatewayIndex].rawLog.suffix(2000))"]))
                       .joined(separator: "\n"))
            if let took {
                state.withLock { $0.worstConvergenceSeconds[fault.rawValue] = max($0.worstConvergenceSeconds[fault.rawValue] ?? 0, took.rounded(toPlaces: 3)) }
            }
            scrapeErrors(cluster)
            Thread.sleep(forTimeInterval: Double(random.int(in: 200...1500)) / 1000)
        }

        // The traffic ends by itself; then the last checks.
        for (node, ping) in zip(cluster.nodes, pings) {
            let result = ping.wait()
            let summary = result.stdout.split(separator: "\n").first { $0.contains("packets transmitted") }.map(String.init) ?? result.stdout
            state.withLock { $0.packets[node.name] = summary }
            record("no packet lost on routes that stayed valid", summary.contains("\(pingCount) packets transmitted, \(pingCount) received"),
                   "\(node.name): \(summary)")
        }
        for (index, node) in cluster.nodes.enumerated() {
            let sent = streams[index].wait().stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let received = sinks[index].wait().stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            state.withLock { $0.tcpStreams[node.name] = "sent \(sent); received \(received)" }
            let fields = sent.split(separator: " ")
            let stall = fields.count == 3 ? Double(fields[2]) ?? 99 : 99
            record("TCP streams arrive whole, never stalled 1 s", !received.isEmpty && fields.first.map(String.init) == received.split(separator: " ").first.map(String.init)
                   && stall < 1, "\(node.name): sent \(sent), received \(received)")
        }
        recordGatewayTraffic(tcp: connector.wait(), http: httpLoad.wait())
        record("no crash", agents[gatewayIndex].gatewayPID == gatewayPID, "routelet gateway \(gatewayPID) is gone")
        for (name, agent) in zip(names, agents) {
            record("no crash", agent.process.isRunning && !agent.rawLog.contains("Fatal error"), "\(name)'s agent: \(agent.rawLog.suffix(2000))")
        }
        record("no crash", server.process.isRunning && !server.rawLog.contains("Fatal error"), "the API server: \(server.rawLog.suffix(2000))")
        scrapeErrors(cluster)
        sampler.running.store(false, ordering: .relaxed)
        while !samplerThread.isFinished { Thread.sleep(forTimeInterval: 0.05) }
        state.withLock { $0.seconds = Date().timeIntervalSince(started) }
        return state.withLock { $0 }
    }

    /// What the sampling thread reads: the processes of the moment.
    final class Sampler: Sendable {
        let running = Atomic<Bool>(true)
        /// name -> pid
        let processes = Mutex<[String: Int32]>([:])
    }

    /// Samples every process's RSS and the request log's length every 5 s
    /// until `sampler.running` turns false; then records both checks.
    func sample(_ sampler: Sampler, started: Date, requestLog: String) {
        var rss: [String: [(pid: Int32, t: Double, mib: Double)]] = [:]
        var requests: [(t: Double, lines: Int)] = []
        while sampler.running.load(ordering: .relaxed) {
            let now = Date().timeIntervalSince(started)
            for (name, pid) in sampler.processes.withLock({ $0 }) {
                if let mib = Self.rssMiB(pid) { rss[name, default: []].append((pid, now, mib)) }   // nil once it exited
            }
            requests.append((now, Self.agentRequests(requestLog)))
            for _ in 0..<50 where sampler.running.load(ordering: .relaxed) { Thread.sleep(forTimeInterval: 0.1) }
        }
        for (name, samples) in rss.sorted(by: { $0.key < $1.key }) {
            state.withLock { $0.memory[name] = Self.memory(samples) }
            record("memory: every process under \(Int(Self.maxRSSMiB)) MiB", samples.allSatisfy { $0.mib < Self.maxRSSMiB },
                   "\(name) reached \(String(format: "%.0f", samples.map(\.mib).max() ?? 0)) MiB")
        }
        // A restarted API server appends to its request log.
        let rates = zip(requests, requests.dropFirst()).map { Double($1.lines - $0.lines) / max(0.001, $1.t - $0.t) }
        let total = (requests.last?.lines ?? 0) - (requests.first?.lines ?? 0)
        let span = (requests.last?.t ?? 0) - (requests.first?.t ?? 0)
        state.withLock { $0.apiRequestsPerSecond = ["mean": (span > 0 ? Double(total) / span : 0).rounded(toPlaces: 1),
                                                    "max5s": (rates.max() ?? 0).rounded(toPlaces: 1)] }
        record("agent API requests per second under \(Int(Self.maxRequestsPerSecond)) (every 5 s)", rates.allSatisfy { $0 < Self.maxRequestsPerSecond },
               "a 5-s window at \(String(format: "%.1f", rates.max() ?? 0)) requests/s")
    }

    // MARK: Checks

    func record(_ check: String, _ passed: Bool, _ failure: @autoclosure () -> String) {
        let text = passed ? "" : failure()
        state.withLock { $0.record(check, passed, text) }
        if !passed { progress("soak: FAILED \(check): \(text.prefix(500))") }
    }

    func require(_ took: Double?, _ what: String) throws {
        guard took != nil else { throw ServerTestError("the soak's cluster did not converge: \(what)") }
    }

    /// Polls until every process runs, every node's maps hold exactly what
    /// its tables compile to, the filters are on the bound interfaces, and
    /// both tables report every selected node at their current generation;
    /// and the gateway node serves `endpoints` (``gatewayProblem``).
    /// Returns the seconds it took, nil after `timeout`.
    func converged(_ cluster: ClusterLab, agents: [RouteletProcess], server: RouteletProcess, blackhole: Bool, endpoints: [Endpoint],
                   within timeout: Double) throws -> Double? {
        let start = Date()
        var last = ""
        while Date().timeIntervalSince(start) < timeout {
            if let problem = try convergenceProblem(cluster, agents: agents, server: server, blackhole: blackhole, endpoints: endpoints) {
                last = problem
                Thread.sleep(forTimeInterval: 0.05)
            } else {
                return Date().timeIntervalSince(start)
            }
        }
        progress("soak: not converged after \(timeout) s: \(last)")
        return nil
    }

    func convergenceProblem(_ cluster: ClusterLab, agents: [RouteletProcess], server: RouteletProcess, blackhole: Bool,
                            endpoints: [Endpoint]) throws -> String? {
        let names = cluster.nodes.map(\.name) + (cluster.gateway.map { [$0.name] } ?? [])
        if let dead = agents.firstIndex(where: { !$0.process.isRunning }) { return "\(names[dead])'s agent exited: \(agents[dead].rawLog.suffix(1000))" }
        if let idle = agents.firstIndex(where: { $0.entries("pass done").isEmpty }) { return "\(names[idle])'s agent has made no pass yet" }
        if !server.process.isRunning { return "the API server exited: \(server.rawLog.suffix(1000))" }
        for node in cluster.nodes {
            let isEdge = node.labels["role"] == "edge"
            let expected = (Self.transit + (blackhole ? [Self.blackhole] : []) + (isEdge ? Self.edge : [])).sorted()
            guard let maps = try? RouterMaps.openPinned(directory: node.pins), let routes = try? maps.routes().routes else {
                return "\(node.name): maps not readable"
            }
            let actual = routes.keys.map(\.prefix.description).sorted()
            if actual != expected { return "\(node.name): routes \(actual), expected \(expected)" }
            for interface in ["ra", "rb"] + (isEdge ? ["rc"] : []) {
                let filters = try node.router.run(["tc", "filter", "show", "dev", interface, "ingress"])
                if !filters.contains("handle 0x726c") { return "\(node.name): no filter on \(interface)" }
            }
        }
        let status = try cluster.kubectl(["get", "rt", "-o",
                                          "jsonpath={range .items[*]}{.metadata.name} {.metadata.generation} {.status.observedGeneration} {.status.nodesReady} {.status.conditions[?(@.type==\"Programmed\")].status}{\"\\n\"}{end}"])
        guard status.status == 0 else { return "kubectl get rt: \(status.stderr)" }
        let lines = Set(status.stdout.split(separator: "\n").map { line -> String in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count == 5, fields[1] == fields[2] else { return "stale \(line)" }
            return "\(fields[0]) \(fields[3]) \(fields[4])"
        })
        guard lines == ["transit 3/3 True", "edge 2/2 True"] else { return "statuses \(status.stdout)" }
        return try cluster.gateway.flatMap { try gatewayProblem(cluster, $0, endpoints: endpoints) }
    }

    /// 5xx answers the agents got, from their metrics (each agent counts its
    /// own requests by code).
    func scrapeErrors(_ cluster: ClusterLab) {
        let agents = cluster.nodes.map { ($0.name, $0.router) } + (cluster.gateway.map { [($0.name, $0.lab.gateway)] } ?? [])
        for (name, namespace) in agents {
            // An agent whose metrics cannot be read fails the check: its 5xx would go unseen.
            guard let metrics = try? namespace.runAllowingFailure([Traffic.python, "-c",
                "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9464/metrics', timeout=5).read().decode())"]),
                metrics.status == 0 else {
                record("no 5xx answered to the agents", false, "\(name): its /metrics could not be read")
                continue
            }
            let fiveHundreds = metrics.stdout.split(separator: "\n")
                .filter { $0.hasPrefix("routelet_kube_requests_total{") && $0.contains("code=\"5") }
            record("no 5xx answered to the agents", fiveHundreds.isEmpty, "\(name): \(fiveHundreds.joined(separator: "; "))")
        }
    }

    /// The gateway node's two clients, once they ended: every new TCP
    /// connection answered by a backend (all three took some), every HTTP
    /// request answered 200.
    func recordGatewayTraffic(tcp: (status: Int32, stdout: String, stderr: String), http: (status: Int32, stdout: String, stderr: String)) {
        struct TCP: Decodable { var ok: Int; var failed: Int; var first: [String]; var backends: [String: Int] }
        struct HTTP: Decodable { var ok: Int; var statuses: [String: Int]; var failed: Int; var first: [String] }
        let connections = try? JSONDecoder().decode(TCP.self, from: Data(tcp.stdout.utf8))
        let requests = try? JSONDecoder().decode(HTTP.self, from: Data(http.stdout.utf8))
        state.withLock {
            $0.gateway["tcp"] = connections.map { "\($0.ok) new connections answered, \($0.failed) failed; by backend \(Self.counts($0.backends))" } ?? tcp.stderr
            $0.gateway["http"] = requests.map { "\($0.ok) requests answered 200, \($0.failed) failed; by status \(Self.counts($0.statuses))" } ?? http.stderr
        }
        record("gateway: every new TCP connection answered by a backend", connections.map { $0.failed == 0 && $0.ok > 0 && $0.backends.count == 3 } ?? false,
               connections.map { "\($0.failed) of \($0.ok + $0.failed) failed, backends \($0.backends): \($0.first)" } ?? "the client: \(tcp.stderr.suffix(1000))")
        record("gateway: every HTTP request answered 200 (no 5xx)", requests.map { $0.failed == 0 && $0.ok > 0 } ?? false,
               requests.map { "\($0.failed) of \($0.ok + $0.failed) failed, statuses \($0.statuses): \($0.first)" } ?? "the client: \(http.stderr.suffix(1000))")
    }

    // MARK: Helpers

    /// A TCP sink: prints the bytes it received once the source closes.
    static func tcpSink(_ address: String) -> String {
        """
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("\(address)", 5002)); s.listen(1)
        c, _ = s.accept(); n = 0
        while True:
            b = c.recv(65536)
            if not b: break
            n += len(b)
        print(n)
        """
    }

    /// A TCP source: 256 KiB/s for `seconds`; prints the bytes sent, the
    /// seconds and the longest stall of a send.
    static func tcpSource(_ address: String, seconds: Double) -> String {
        """
        import socket, time
        for attempt in range(100):
            try:
                s = socket.create_connection(("\(address)", 5002), timeout=10); break
            except OSError:
                time.sleep(0.1)
        chunk = bytes(16384); n = 0; stall = 0.0; start = time.monotonic()
        while time.monotonic() - start < \(seconds):
            t = time.monotonic(); s.sendall(chunk); n += len(chunk)
            stall = max(stall, time.monotonic() - t)
            time.sleep(0.0625)
        s.shutdown(socket.SHUT_WR); s.close()
        print(n, round(time.monotonic() - start, 1), round(stall, 3))
        """
    }

    /// "b1 131, b2 558" of a count by name.
    static func counts(_ counts: [String: Int]) -> String {
        counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    static func rssMiB(_ pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kib / 1024
    }

    /// Requests of the agents in the API server's request log (the soak's
    /// own kubectl polling is not counted).
    static func agentRequests(_ path: String) -> Int {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return 0 }
        return text.split(separator: "\n").count { $0.contains("\"userAgent\":\"routelet/") }
    }

    static func memory(_ samples: [(pid: Int32, t: Double, mib: Double)]) -> Report.Memory {
        let lives = Dictionary(grouping: samples, by: \.pid).values.map { life in (life, (life.last?.t ?? 0) - (life.first?.t ?? 0)) }
        let (longest, life) = lives.max { $0.1 < $1.1 } ?? ([], 0)
        var growth: Double?
        let settled = longest.filter { $0.t - (longest.first?.t ?? 0) >= warmUp }
        if let first = settled.first, let last = settled.last, last.t - first.t >= growthSpan {
            let meanT = settled.map(\.t).reduce(0, +) / Double(settled.count)
            let meanM = settled.map(\.mib).reduce(0, +) / Double(settled.count)
            let covariance = settled.map { ($0.t - meanT) * ($0.mib - meanM) }.reduce(0, +)
            let variance = settled.map { ($0.t - meanT) * ($0.t - meanT) }.reduce(0, +)
            growth = (covariance / variance * 3600).rounded(toPlaces: 1)
        }
        return .init(maxMiB: (samples.map(\.mib).max() ?? 0).rounded(toPlaces: 1), growthMiBPerHour: growth,
                     longestLifeSeconds: life.rounded(toPlaces: 0), samples: samples.count)
    }

    static func commit() -> String {
        ((try? Command.run(["git", "rev-parse", "--short", "HEAD"])) ?? "unknown").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func machine() -> String {
        let cpu = ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "").split(separator: "\n")
            .first { $0.hasPrefix("model name") }.map { String($0.split(separator: ":").last ?? "").trimmingCharacters(in: .whitespaces) } ?? "?"
        let kernel = ((try? Command.run(["uname", "-r"])) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
        return "\(ProcessInfo.processInfo.activeProcessorCount) cores \(cpu), kernel \(kernel)"
    }
}

extension Soak.Report {
    mutating func record(_ check: String, _ passed: Bool, _ failure: String) {
        if passed {
            checks[check, default: .init()].passed += 1
        } else {
            checks[check, default: .init()].failed += 1
            if checks[check]!.failures.count < 5 { checks[check]!.failures.append(failure) }
        }
    }
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        let scale = pow(10, Double(places))
        return (self * scale).rounded() / scale
    }
}
