import Dataplane
import Foundation
import NetAddress
import NetLab

// `make demo`: the namespace lab (a router between hosts A, B and C, kernel
// forwarding off), `routelet agent` in the router namespace converging it to
// manifests/examples/lab.yaml, traffic across, `routelet dump` with its
// counters, a failover, and an invalid edit that changes nothing.
// Everything is removed on exit, Ctrl-C included.

func step(_ text: String) { print("\n==> \(text)") }

let binDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
let routelet = binDirectory.appendingPathComponent("routelet").path
// The manifest to converge to: the first argument, or the repository's example.
let example = CommandLine.arguments.dropFirst().first ?? FileManager.default.currentDirectoryPath + "/manifests/examples/lab.yaml"
let work = NSTemporaryDirectory() + "routelet-demo-\(getpid())"
let manifests = work + "/manifests", stateDir = work + "/state", agentLog = work + "/agent.log"
let pins = "/sys/fs/bpf/routelet-demo"

step("Building the lab: namespaces A, B, C around a router (kernel forwarding off)")
let lab = try RouterLab()
nonisolated(unsafe) var agent: Process?

func cleanup() {
    step("Cleaning up: agent, filters, pins, namespaces")
    if let agent, agent.isRunning { agent.terminate(); agent.waitUntilExit() }
    _ = try? Command.runAllowingFailure([routelet, "cleanup", "--netns", lab.router.name, "--bpffs-dir", pins])
    lab.delete()
    try? FileManager.default.removeItem(atPath: work)
}
let signalSources = [SIGINT, SIGTERM].map { signalNumber in
    signal(signalNumber, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
    source.setEventHandler { cleanup(); exit(130) }
    source.resume()
    return source
}

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

do {
    try FileManager.default.createDirectory(atPath: manifests, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: example, toPath: manifests + "/lab.yaml")
    let a = lab.hostA, b = RouterLab.address(host: 2), c = RouterLab.address(host: 3)
    print("router: \(lab.router.name), hosts: \(lab.hostA.name), \(lab.hostB.name), \(lab.hostC.name)")

    step("Before routelet: ping A -> B \(b.v4) (the kernel does not forward)")
    print("replies: \(try Traffic.ping(from: a, b.v4, count: 2))/2")

    step("Starting `routelet agent --manifests \(manifests)` in the router namespace")
    _ = FileManager.default.createFile(atPath: agentLog, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
    process.arguments = ["--net=/run/netns/\(lab.router.name)", routelet, "agent", "--manifests", manifests,
                         "--node-name", "demo-router", "--bpffs-dir", pins, "--state-dir", stateDir, "--resync-period", "10s"]
    process.standardError = FileHandle(forWritingAtPath: agentLog)
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    agent = process
    var logLine = 0
    for _ in 0..<200 where !FileManager.default.fileExists(atPath: stateDir + "/status.json") {
        Thread.sleep(forTimeInterval: 0.05)
    }
    var log = agentLog(from: logLine, matching: ["data plane opened", "table changed", "pass done", "table status"])
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

    step("An invalid edit (host bits set) is refused; what was programmed stays")
    let original = try String(contentsOfFile: manifests + "/lab.yaml", encoding: .utf8)
    try original.replacingOccurrences(of: "198.18.66.0/24", with: "198.18.66.1/24")
        .write(toFile: manifests + "/lab.yaml", atomically: true, encoding: .utf8)
    Thread.sleep(forTimeInterval: 1.5)
    print(agentLog(from: logLine, matching: ["invalid manifest"]).text)
    print("ping A -> B still: \(try Traffic.ping(from: a, b.v4))/3 replies")

    step("The agent stops (SIGTERM); the data plane keeps forwarding")
    process.terminate()
    process.waitUntilExit()
    print("ping A -> C with no agent running: \(try Traffic.ping(from: a, c.v4))/3 replies")

    step("The same state through standard tools")
    print("$ tc filter show dev ra ingress")
    print(try lab.router.run(["tc", "filter", "show", "dev", "ra", "ingress"]), terminator: "")
    try run(["bpftool", "map", "dump", "pinned", "\(pins)/rl_ifaces"])
} catch {
    print("demo failed: \(error)")
    if FileManager.default.fileExists(atPath: agentLog) { print((try? String(contentsOfFile: agentLog, encoding: .utf8)) ?? "") }
    cleanup()
    exit(1)
}
cleanup()
_ = signalSources
