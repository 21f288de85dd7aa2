import Dataplane
import Foundation
import NetAddress
import NetLab

// `make demo`: the namespace lab (a router between hosts A, B and C, kernel
// forwarding off), `routelet standalone` in the router namespace (the
// embedded API server and the agent), `kubectl apply -f manifests/examples/`,
// `kubectl get rt,rn`, traffic across, `routelet dump` with its counters, a
// failover, an invalid manifest refused by kubectl, and a table that cannot
// be programmed, reported as such. Then a GatewayRoute in a second lab (a
// client, a gateway and three backends): TCP connections load balanced in
// eBPF by weight, and a backend removed while a long connection to it keeps
// streaming. Everything is removed on exit, Ctrl-C included.

func step(_ text: String) { print("\n==> \(text)") }

let binDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
let routelet = binDirectory.appendingPathComponent("routelet").path
// The manifests to apply: the first argument, or the repository's examples.
let examples = CommandLine.arguments.dropFirst().first ?? FileManager.default.currentDirectoryPath + "/manifests/examples"
let work = NSTemporaryDirectory() + "routelet-demo-\(getpid())"
let stateDir = work + "/state", agentLog = work + "/routelet.log", kubeconfig = work + "/kubeconfig"
let accessLog = work + "/access.log"
let pins = "/sys/fs/bpf/routelet-demo"

step("Building the lab: namespaces A, B, C around a router (kernel forwarding off)")
let lab = try RouterLab()
nonisolated(unsafe) var agent: Process?
nonisolated(unsafe) var gatewayLab: GatewayLab?
let gatewayPins = "/sys/fs/bpf/routelet-demo-gateway"

func cleanup() {
    step("Cleaning up: routelet, filters, pins, namespaces")
    if let agent, agent.isRunning { agent.terminate(); agent.waitUntilExit() }
    _ = try? Command.runAllowingFailure([routelet, "cleanup", "--netns", lab.router.name, "--bpffs-dir", pins,
                                         "--gateway-dir", stateDir + "/gateway"])
    lab.delete()
    if let gatewayLab {
        _ = try? Command.runAllowingFailure([routelet, "cleanup", "--netns", gatewayLab.gateway.name, "--bpffs-dir", gatewayPins,
                                             "--gateway-dir", stateDir + "/gateway"])
        gatewayLab.delete()
    }
    try? FileManager.default.removeItem(atPath: work)
}
let signalSources = onInterrupt { cleanup() }

/// The agent's log lines with one of these messages, since `from`.
func agentLog(from line: Int, matching messages: [String]) -> (text: String, lines: Int) {
    let all = ((try? String(contentsOfFile: agentLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    let shown = all.dropFirst(line).filter { line in messages.contains { line.contains($0) } }
    return (shown.map { "    agent: " + $0 }.joined(separator: "\n"), all.count)
}

/// The egress interface of the failover route 198.19.0.0/24, as installed.
func serviceEgress(_ maps: RouterMaps) throws -> UInt32? {
    let routes = try maps.routes().routes
    guard let entry = routes.first(where: { $0.key.prefix == IPPrefix("198.19.0.0/24")! })?.value,
          case .forward(let group) = entry.action else { return nil }
    return try maps.group(group)?.first?.ifindex
}

func run(_ arguments: [String]) throws {
    print("$ " + arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ").replacingOccurrences(of: binDirectory.path + "/", with: ""))
    print(try Command.run(arguments), terminator: "")
}

/// The namespace kubectl runs in: the router's, then the gateway lab's.
nonisolated(unsafe) var kubectlNamespace = lab.router

/// kubectl against the standalone server, from inside its namespace; shown with its output.
@discardableResult
func kubectl(_ arguments: [String], input: String? = nil, show: Bool = true) throws -> (status: Int32, stdout: String, stderr: String) {
    let result = try kubectlNamespace.runAllowingFailure(["kubectl", "--kubeconfig", kubeconfig] + arguments, input: input)
    if show {
        print("$ kubectl " + arguments.joined(separator: " "))
        print(result.stdout + result.stderr, terminator: "")
    }
    return result
}

/// Starts `routelet standalone` in `namespace`, its log in `agentLog`; waits for the Node registration.
func startStandalone(in namespace: NetworkNamespace, pins: String, labels: String, gateway: String = "external") throws -> Process {
    _ = FileManager.default.createFile(atPath: agentLog, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
    process.arguments = ["--net=/run/netns/\(namespace.name)", routelet, "standalone", "--listen", "127.0.0.1:6443",
                         "--data-dir", work + "/api-\(namespace.name)", "--kubeconfig-out", kubeconfig, "--node-name", "demo-node",
                         "--node-labels", labels, "--bpffs-dir", pins, "--state-dir", stateDir, "--resync-period", "10s",
                         "--gateway", gateway, "--access-log", accessLog, "--gateway-metrics-addr", ""]
    process.standardError = FileHandle(forWritingAtPath: agentLog)
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    for _ in 0..<300 where !((try? String(contentsOfFile: agentLog, encoding: .utf8)) ?? "").contains("Node registered") {
        Thread.sleep(forTimeInterval: 0.05)
    }
    return process
}

/// How many of `answers` ("b1 198.18.21.1") each backend gave.
func perBackend(_ answers: [Int: String]) -> String {
    var counts: [String: Int] = [:]
    for answer in answers.values { counts[String(answer.split(separator: " ").first ?? "?"), default: 0] += 1 }
    return counts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
}

/// Waits until `kubectl get` of `jsonpath` on `object` prints `value`.
func waitFor(_ object: String, _ jsonpath: String, _ value: String, timeout: Double = 15) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try kubectl(["get", object, "-o", "jsonpath={\(jsonpath)}"], show: false).stdout == value { return }
        Thread.sleep(forTimeInterval: 0.1)
    }
    throw DemoError("\(object) \(jsonpath) did not become \(value) within \(timeout) s")
}

struct DemoError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

do {
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    let a = lab.hostA, b = RouterLab.address(host: 2), c = RouterLab.address(host: 3)
    print("router: \(lab.router.name), hosts: \(lab.hostA.name), \(lab.hostB.name), \(lab.hostC.name)")

    step("Before routelet: ping A -> B \(b.v4) (the kernel does not forward)")
    print("replies: \(try Traffic.ping(from: a, b.v4, count: 2))/2")

    step("Starting `routelet standalone` in the router namespace: API server + agent, node labels role=router")
    let process = try startStandalone(in: lab.router, pins: pins, labels: "role=router")
    agent = process
    var log = agentLog(from: 0, matching: ["API server listening", "data plane opened", "Node registered"])
    print(log.text)
    var logLine = log.lines

    step("kubectl apply -f manifests/examples/")
    try kubectl(["apply", "-f", examples])
    try waitFor("rt/lab", #".status.conditions[?(@.type=="Programmed")].status"#, "True")
    try waitFor("rn/demo-node", #".status.conditions[?(@.type=="Ready")].status"#, "True")
    try kubectl(["get", "routetables"])
    print("(lab programs this node, role=router; the other examples select nodes labelled routelet.dev/role=edge: NODES 0/0 here)")
    try kubectl(["get", "routeletnodes"])
    log = agentLog(from: logLine, matching: ["table changed", "table status", "status written"])
    print(log.text)
    logLine = log.lines

    step("Traffic through routelet")
    for address in [b.v4, b.v6, c.v4, c.v6] {
        print("ping A -> \(address): \(try Traffic.ping(from: a, address))/3 replies")
    }
    let transfer = try Traffic.tcpTransfer(from: a, to: lab.hostB, address: b.v4)
    print("TCP 1 MiB A -> B: \(transfer.sent == transfer.received ? "arrived intact" : "MISMATCH: \(transfer)")")
    print("ping A -> 198.18.66.1 (Blackhole): \(try Traffic.ping(from: a, "198.18.66.1", count: 2))/2 replies")
    let onB = try Traffic.udpCounter(in: lab.hostB, address: RouterLab.anycastV4)
    let onC = try Traffic.udpCounter(in: lab.hostC, address: RouterLab.anycastV4)
    try Traffic.waitForUDPListener(in: lab.hostB, port: 9000)
    try Traffic.waitForUDPListener(in: lab.hostC, port: 9000)
    try Traffic.udpFlows(from: a, to: RouterLab.anycastV4, flows: 32, packetsPerFlow: 5)
    let flowsB = Traffic.udpCounts(onB.wait().stdout), flowsC = Traffic.udpCounts(onC.wait().stdout)
    let split = Set(flowsB.keys).intersection(flowsC.keys).count
    print("32 UDP flows A -> \(RouterLab.anycastV4) (ECMP): \(flowsB.count) flows arrived at B, \(flowsC.count) at C, \(split == 0 ? "none split over both" : "\(split) SPLIT over both paths")")

    step("What routelet programmed, from the kernel")
    try run([routelet, "dump", "--netns", lab.router.name, "--bpffs-dir", pins, "--state-dir", stateDir])

    step("Failover: rb goes down; 198.19.0.0/24 moves from metric 10 (via B) to metric 20 (via C)")
    let maps = try RouterMaps.openPinned(directory: pins)
    let rc = try lab.router.enter { Interfaces.index(of: "rc") }
    let down = Date()
    try lab.router.setLink("rb", up: false)
    while try serviceEgress(maps) != rc, Date().timeIntervalSince(down) < 5 { Thread.sleep(forTimeInterval: 0.001) }
    print(String(format: "link down -> backup route in the map: %.1f ms", Date().timeIntervalSince(down) * 1000))
    print("ping A -> \(RouterLab.serviceV4) now answered by C: \(try Traffic.ping(from: a, RouterLab.serviceV4))/3 replies")
    try lab.router.setLink("rb", up: true)
    Thread.sleep(forTimeInterval: 0.3)
    log = agentLog(from: logLine, matching: ["table changed", "pass done", "table status"])
    print(log.text)
    logLine = log.lines

    step("An invalid manifest (host bits set) is refused by the API server, with the field; nothing changes")
    let original = try String(contentsOfFile: examples + "/lab.yaml", encoding: .utf8)
    let invalid = try kubectl(["apply", "-f", "-"], input: original.replacingOccurrences(of: "198.18.66.0/24", with: "198.18.66.1/24"))
    print("kubectl exit status: \(invalid.status)")
    print("ping A -> B still: \(try Traffic.ping(from: a, b.v4))/3 replies")

    step("A table for an interface this node lacks: applied, and reported as not programmed")
    try kubectl(["apply", "-f", "-"], input: """
        apiVersion: routelet.dev/v1alpha1
        kind: RouteTable
        metadata: {name: uplinks}
        spec:
          interfaces: [eth9]
          routes:
          - {destination: 0.0.0.0/0, gateway: 192.0.2.1, interface: eth9}
        """)
    try waitFor("rt/uplinks", #".status.conditions[?(@.type=="Programmed")].reason"#, "NodeErrors")
    try kubectl(["get", "rt"])
    try kubectl(["get", "rt", "uplinks", "-o", #"jsonpath={.status.failingNodes}{"\n"}"#])
    try kubectl(["get", "rn"])

    step("routelet stops (SIGTERM); the data plane keeps forwarding")
    process.terminate()
    process.waitUntilExit()
    print("ping A -> C with no routelet running: \(try Traffic.ping(from: a, c.v4))/3 replies")

    step("The same state through standard tools")
    print("$ tc filter show dev ra ingress")
    print(try lab.router.run(["tc", "filter", "show", "dev", "ra", "ingress"]), terminator: "")
    try run(["bpftool", "map", "dump", "pinned", "\(pins)/rl_ifaces"])

    step("GatewayRoute: a second lab, a client -> gateway -> three backends (b1, b2, b3) that answer with their name")
    let gateway = try GatewayLab()
    gatewayLab = gateway
    kubectlNamespace = gateway.gateway
    print("gateway: \(gateway.gateway.name), client: \(gateway.client.name), backends: \(gateway.backends.map(\.name).joined(separator: ", "))")
    print("no address of any namespace is \(GatewayLab.listener): routelet answers for it; no nftables or iptables rule exists")
    let gatewayAgent = try startStandalone(in: gateway.gateway, pins: gatewayPins, labels: "role=gateway", gateway: "child")
    agent = gatewayAgent
    logLine = 0

    step("kubectl apply -f manifests/examples/gateway/lab.yaml (weights 1:1:2)")
    try kubectl(["apply", "-f", examples + "/gateway/lab.yaml"])
    try waitFor("gwr/shop", #".status.conditions[?(@.type=="Programmed")].status"#, "True")
    try kubectl(["get", "gatewayroutes"])

    step("400 new TCP connections to \(GatewayLab.listener):80, each answered by one backend")
    print(perBackend(try gateway.connect(fromPorts: Array(20000..<20400))))

    step("A long connection to b3, then b3 is removed from the route while it streams")
    var streamPort = 30000
    while try gateway.connect(fromPorts: [streamPort])[streamPort]?.hasPrefix("b3") != true { streamPort += 1 }
    let stream = try gateway.startStream(fromPort: streamPort, seconds: 4)
    Thread.sleep(forTimeInterval: 1)
    let gatewayManifest = try String(contentsOfFile: examples + "/gateway/lab.yaml", encoding: .utf8)
    try kubectl(["apply", "-f", "-"], input: gatewayManifest.replacingOccurrences(of: "    - {addresses: [198.18.23.2], port: 8080, weight: 2}\n", with: ""))
    try waitFor("gwr/shop", ".status.backendsReady", "2/2")
    try kubectl(["get", "gatewayroutes"])
    print("400 new connections after the removal: \(perBackend(try gateway.connect(fromPorts: Array(21000..<21400))))")
    try run([routelet, "dump", "--netns", gateway.gateway.name, "--bpffs-dir", gatewayPins, "--state-dir", stateDir])
    let streamed = stream.wait().stdout
    print("the connection to b3, bytes per 250 ms (b3 left after the 4th): \(streamed.trimmingCharacters(in: .whitespacesAndNewlines))")

    step("HTTP: kubectl apply -f manifests/examples/gateway/http-lab.yaml (routelet gateway, started by the agent, serves it)")
    try kubectl(["apply", "-f", examples + "/gateway/http-lab.yaml"])
    try waitFor("gwr/lab-users", #".status.conditions[?(@.type=="Programmed")].status"#, "True")
    try kubectl(["get", "gatewayroutes"])
    let http = "198.51.100.11"
    func curl(_ path: String, _ headers: [String] = []) throws -> String {
        let arguments = ["curl", "-s", "-w", " -> HTTP %{http_code}\\n", "-H", "Host: api.example.com"] + headers.flatMap { ["-H", $0] }
            + ["http://\(http)\(path)"]
        print("$ " + arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " "))
        return try gateway.client.run(arguments)
    }
    step("/users with X-User-Role: admin and X-Region: us-west goes to user-service (b1); without the headers: 404")
    print(try curl("/users/42", ["X-User-Role: admin", "X-Region: us-west"]), terminator: "")
    print(try curl("/users/42"), terminator: "")
    step("/canary, 20 requests on one connection: 90/10 between b2 and b3, per request")
    let canary = try gateway.client.run([Traffic.python, "-c", """
        import http.client, json, collections
        c = http.client.HTTPConnection("\(http)", 80, timeout=5); n = collections.Counter()
        for _ in range(20):
            c.request("GET", "/canary", headers={"Host": "api.example.com"}); n[json.loads(c.getresponse().read())["backend"]] += 1
        print(", ".join("%s: %d" % kv for kv in sorted(n.items())))
        """])
    print(canary, terminator: "")
    step("The access log: one JSON line per request, with the route's two headers (absent when not sent)")
    let logged = ((try? String(contentsOfFile: accessLog, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.contains("/users/42") }
    print(logged.joined(separator: "\n"))

    step("TCP with header capture: kubectl apply -f manifests/examples/gateway/tcp-logged-lab.yaml (no proxy; eBPF reads each connection's first segment)")
    try kubectl(["apply", "-f", examples + "/gateway/tcp-logged-lab.yaml"])
    try waitFor("gwr/logged-shop", #".status.conditions[?(@.type=="Programmed")].status"#, "True")
    try kubectl(["get", "gatewayroutes"])
    let logged4 = "198.51.100.12"
    for (role, region) in [("admin", "eu-west"), ("viewer", "us-east"), ("viewer", "ap-south")] {
        let arguments = ["curl", "-s", "-o", "/dev/null", "-w", "HTTP %{http_code}\\n", "-H", "X-User-Role: \(role)", "-H", "X-Region: \(region)",
                         "http://\(logged4)/orders?user=\(role)"]
        print("$ " + arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " "))
        print(try gateway.client.run(arguments), terminator: "")
    }
    step("A refused source: 198.18.10.3 is in the route's sourceRanges.deny; its SYNs are dropped in eBPF, no backend sees it")
    try gateway.client.ip("addr add 198.18.10.3/24 dev eth0")
    let refused = try gateway.client.runAllowingFailure(["curl", "-s", "-o", "/dev/null", "--interface", "198.18.10.3", "--connect-timeout", "1",
                                                         "-w", "%{http_code}", "http://\(logged4)/orders"])
    print("$ curl --interface 198.18.10.3 --connect-timeout 1 http://\(logged4)/orders -> \(refused.status == 0 ? "answered (UNEXPECTED)" : "no connection (curl exit \(refused.status))")")
    step("The access log's eBPF lines: one per connection, with the three headers (User-Agent as curl sent it)")
    Thread.sleep(forTimeInterval: 0.5)   // the agent reads the ring every 100 ms and writes in 5 ms batches
    let ebpf = ((try? String(contentsOfFile: accessLog, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.contains("\"source\":\"ebpf\"") }
    print(ebpf.joined(separator: "\n"))
    try run([routelet, "dump", "--netns", gateway.gateway.name, "--bpffs-dir", gatewayPins, "--state-dir", stateDir])
    gatewayAgent.terminate()
    gatewayAgent.waitUntilExit()
} catch {
    print("demo failed: \(error)")
    if FileManager.default.fileExists(atPath: agentLog) { print((try? String(contentsOfFile: agentLog, encoding: .utf8)) ?? "") }
    cleanup()
    exit(1)
}
cleanup()
_ = signalSources
