import Foundation
import NetLab

// `make demo-cluster`: a cluster on one machine (NetLab's ClusterLab): one
// `routelet apiserver`, three nodes (network namespaces, each a router
// between hosts A, B and C, kernel forwarding off) each running its own
// `routelet agent` over the API. kubectl applies two tables, one for every
// node and one for the two nodes labelled role=edge; traffic crosses every
// node; the agent holding the aggregator Lease is killed with -9 and
// another takes over; a node's label changes and it leaves a table. Then
// everything is removed, Ctrl-C included.

func step(_ text: String) { print("\n==> \(text)") }

struct DemoError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

let tablesFile = CommandLine.arguments.dropFirst().first
    ?? FileManager.default.currentDirectoryPath + "/manifests/examples/cluster/tables.yaml"

step("Building the cluster: an API namespace and three nodes, each with hosts A, B and C around it")
let cluster = try ClusterLab()
for node in cluster.nodes {
    print("\(node.name): namespace \(node.router.name), management address \(node.address), labels \(node.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))")
}

func cleanup() {
    step("Cleaning up: routelet processes, pins, namespaces")
    cluster.delete()
}
let signalSources = onInterrupt { cleanup() }

/// kubectl against the cluster's API server, shown with its output.
@discardableResult
func kubectl(_ arguments: [String], input: String? = nil) throws -> String {
    print("$ kubectl " + arguments.joined(separator: " "))
    let result = try cluster.kubectl(arguments, input: input)
    print(result.stdout + result.stderr, terminator: "")
    guard result.status == 0 else { throw DemoError("kubectl \(arguments.joined(separator: " ")) failed (\(result.status))") }
    return result.stdout
}

/// Waits until `condition` holds, up to `timeout` seconds; returns the seconds it took.
@discardableResult
func wait(_ what: String, timeout: Double = 30, _ condition: () throws -> Bool) throws -> Double {
    let start = Date()
    while Date().timeIntervalSince(start) < timeout {
        if try condition() { return Date().timeIntervalSince(start) }
        Thread.sleep(forTimeInterval: 0.05)
    }
    throw DemoError("\(what) did not happen within \(timeout) s")
}

func pings(through node: ClusterLab.Node) throws -> String {
    let b = RouterLab.address(host: 2), a = RouterLab.address(host: 1)
    return "A -> B \(try Traffic.ping(from: node.lab.hostA, b.v4))/3, A -> B (IPv6) \(try Traffic.ping(from: node.lab.hostA, b.v6))/3, "
        + "C -> A \(try Traffic.ping(from: node.lab.hostC, a.v4, count: 2))/2"
}

do {
    step("Starting `routelet apiserver` in the API namespace, on \(ClusterLab.apiAddress):\(ClusterLab.apiPort)")
    var server = try cluster.startAPIServer()

    step("The Node objects, with their labels, as the kubelet would write them")
    try cluster.registerNodes()
    try kubectl(["get", "nodes", "-L", "role,zone"])

    step("Starting `routelet agent` on each node (its own node name, bpffs directory and state directory)")
    var agents = try cluster.nodes.indices.map { try cluster.startAgent($0, resync: "10s") }
    for (node, agent) in zip(cluster.nodes, agents) {
        try agent.waitForLog("\(node.name)'s data plane") { $0["msg"] == "data plane opened" }
        print("\(node.name): agent running, pins in \(node.pins)")
    }

    step("kubectl apply -f \(tablesFile.replacingOccurrences(of: FileManager.default.currentDirectoryPath + "/", with: ""))")
    try kubectl(["apply", "-f", "-"], input: ClusterLab.tables(file: tablesFile))
    try wait("three nodes programmed") {
        try cluster.jsonpath("rt/transit", ".status.nodesReady") == "3/3" && cluster.jsonpath("rt/edge", ".status.nodesReady") == "2/2"
    }
    try kubectl(["get", "rt,rn"])
    print("(transit selects role in (edge, core): every router node; edge selects role=edge: node-1 and node-2)")

    step("Traffic through every node (C's traffic is routed by table edge, so only on node-1 and node-2)")
    for node in cluster.nodes { print("\(node.name): \(try pings(through: node))") }

    step("The aggregator: one agent holds the routelet-aggregator Lease and writes every table's status")
    let holder = try cluster.leaseHolder()
    print("holder: \(holder)")
    let victim = try cluster.nodes.firstIndex { $0.name == holder } ?? { throw DemoError("no node holds the lease") }()
    print("$ kill -9 <\(holder)'s agent>")
    agents[victim].stop(signal: SIGKILL)
    var successor = ""
    let takeover = try wait("a takeover", timeout: 20) { successor = try cluster.leaseHolder(); return !successor.isEmpty && successor != holder }
    print(String(format: "%@ took the lease over after %.1f s (lease duration 3 s)", successor, takeover))
    print("\(holder)'s data plane keeps forwarding without its agent: \(try pings(through: cluster.nodes[victim]))")

    step("A change while \(holder)'s agent is down: the new holder reports it, 2/3, and names the node that is behind")
    try kubectl(["apply", "-f", "-"], input: ClusterLab.tables(extraTransitRoutes: ["{destination: 198.18.66.0/24, type: Blackhole}"], file: tablesFile))
    try wait("the new generation reported") {
        try cluster.jsonpath("rt/transit", ".status.observedGeneration") == "2" && cluster.jsonpath("rt/transit", ".status.nodesReady") == "2/3"
    }
    try kubectl(["get", "rt", "transit"])
    try kubectl(["get", "rt", "transit", "-o", #"jsonpath={.status.conditions[?(@.type=="Programmed")].message}{"\n"}"#])

    step("\(holder)'s agent comes back (as the DaemonSet would restart it): it catches up, 3/3")
    agents[victim] = try cluster.startAgent(victim, resync: "10s")
    try wait("3/3") { try cluster.jsonpath("rt/transit", ".status.nodesReady") == "3/3" }
    try kubectl(["get", "rt"])

    step("node-2's label changes to role=core: it leaves table edge, on node-2 only")
    try kubectl(["label", "node", "node-2", "role=core", "--overwrite"])
    try wait("edge on 1/1") { try cluster.jsonpath("rt/edge", ".status.nodesReady") == "1/1" }
    try kubectl(["get", "rt"])
    for node in cluster.nodes { print("\(node.name): \(try pings(through: node))") }

    step("The API server restarts (kill -9, same data): the agents keep forwarding and watch again")
    server.stop(signal: SIGKILL)
    print("with no API server: " + (try cluster.nodes.map { "\($0.name) A -> B \(try Traffic.ping(from: $0.lab.hostA, RouterLab.address(host: 2).v4))/3" }.joined(separator: ", ")))
    server = try cluster.startAPIServer()
    try kubectl(["label", "node", "node-2", "role=edge", "--overwrite"])
    try wait("edge on 2/2 again") { try cluster.jsonpath("rt/edge", ".status.nodesReady") == "2/2" }
    try kubectl(["get", "rt,rn"])
    _ = agents
} catch {
    print("demo failed: \(error)")
    cleanup()
    exit(1)
}
cleanup()
_ = signalSources
