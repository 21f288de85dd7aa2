import Agent
import Dataplane
import Foundation
import NetLab
import Testing

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Tests call the routelet processes they run agents.
typealias AgentProcess = RouteletProcess

extension RouteletProcess {
    /// Waits for the first pass (the agent converged once).
    @discardableResult
    func waitUntilConverged() throws -> [String: String] {
        try waitForLog("the first pass") { $0["msg"] == "pass done" && $0["pass"] == "1" }
    }
}

/// The lab, a manifest directory, pins and a state directory, all removed
/// at the end (also on failure, through `tearDown`).
final class AgentLab: Sendable {
    let lab: RouterLab
    let manifests: String
    let pins: String
    let stateDir: String

    /// - Parameter nextHops: the lab's next-hop hosts (`RouterLab`), 2 or 3.
    init(nextHops: Int = 2) throws {
        guard getuid() == 0 else { throw HarnessError("agent tests need root (BPF, namespaces); run `make test` as root, as CI does") }
        let id = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        manifests = NSTemporaryDirectory() + "rl-manifests-\(id)"
        stateDir = NSTemporaryDirectory() + "rl-state-\(id)"
        pins = "/sys/fs/bpf/rltest-agent-\(id)"
        try FileManager.default.createDirectory(atPath: manifests, withIntermediateDirectories: true)
        lab = try RouterLab(nextHops: nextHops)
    }

    func startAgent(resync: String = "30s") throws -> AgentProcess {
        try AgentProcess(namespace: lab.router, arguments: [
            "agent", "--manifests", manifests, "--node-name", "lab-router", "--bpffs-dir", pins, "--state-dir", stateDir,
            "--resync-period", resync,
        ])
    }

    /// `routelet standalone` in the router namespace, its data (and
    /// kubeconfig) in the state directory; `kubectl` reaches it there.
    func startStandalone(resync: String = "30s", extra: [String] = []) throws -> AgentProcess {
        let standalone = try AgentProcess(namespace: lab.router, arguments: [
            "standalone", "--listen", "127.0.0.1:6443", "--data-dir", "\(stateDir)/api", "--kubeconfig-out", kubeconfig,
            "--node-name", "lab-router", "--node-labels", "role=router", "--bpffs-dir", pins, "--state-dir", stateDir,
            "--resync-period", resync,
        ] + extra)
        try standalone.waitForLog("the Node registration") { $0["msg"] == "Node registered" }
        // Tests open the pinned maps: they exist once the data plane is open.
        try standalone.waitForLog("the data plane") { $0["msg"] == "data plane opened" }
        return standalone
    }

    var kubeconfig: String { "\(stateDir)/kubeconfig" }

    /// kubectl against the standalone server, from inside the router namespace.
    @discardableResult
    func kubectl(_ arguments: [String], input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try lab.router.runAllowingFailure(["kubectl", "--kubeconfig", kubeconfig] + arguments, input: input)
    }

    /// GET of a path of the agent's metrics endpoint, inside the router namespace.
    func scrape(_ path: String) throws -> (status: Int32, stdout: String, stderr: String) {
        try lab.router.runAllowingFailure([
            "python3", "-c", "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())",
            "http://127.0.0.1:9464\(path)",
        ])
    }

    /// A JSONPath of an object, through kubectl ("" when absent).
    func jsonpath(_ object: String, _ path: String) throws -> String {
        try kubectl(["get", object, "-o", "jsonpath={\(path)}"]).stdout
    }

    func write(_ name: String, _ text: String) throws {
        // Write then rename, as editors and kubectl-like tools do.
        let temporary = "\(manifests)/.\(name).tmp"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, "\(manifests)/\(name)") == 0 else { throw HarnessError("rename \(temporary): errno \(errno)") }
    }

    func remove(_ name: String) throws { try FileManager.default.removeItem(atPath: "\(manifests)/\(name)") }

    /// The pinned maps, as another process sees them.
    func maps() throws -> RouterMaps { try RouterMaps.openPinned(directory: pins) }

    func status() -> StatusReport? { StatusReport.read(from: stateDir) }

    func tearDown() {
        _ = try? lab.router.enter { try Cleanup.run(pinDirectory: pins) }
        Dataplane.removePins(in: pins)
        lab.delete()
        try? FileManager.default.removeItem(atPath: manifests)
        try? FileManager.default.removeItem(atPath: stateDir)
    }
}

/// The lab's RouteTable: each host's subnet on-link, B's /24 through its
/// address, and extra route lines appended.
func labTable(name: String = "lab", extra: String = "") -> String {
    """
    apiVersion: routelet.dev/v1alpha1
    kind: RouteTable
    metadata: {name: \(name)}
    spec:
      interfaces: [ra, rb, rc]
      routes:
      - {destination: 198.18.1.0/24, interface: ra}
      - {destination: 198.18.2.0/24, gateway: 198.18.2.2, interface: rb}
      - {destination: 198.18.3.0/24, interface: rc}
      - {destination: "2001:db8:1::/64", interface: ra}
      - {destination: "2001:db8:2::/64", interface: rb}
      - {destination: "2001:db8:3::/64", interface: rc}
    \(extra.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
    """
}
