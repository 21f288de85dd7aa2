import Dataplane
import Foundation
import Synchronization

/// A cluster on one machine: one `routelet apiserver` and three nodes, each
/// node a ``RouterLab`` of its own (the router namespace is the node, with
/// hosts A, B and C around it) running `routelet agent` over the API with
/// its own node name, labels, bpffs directory and state directory:
///
///     api (routelet apiserver on 198.18.0.1:6443)
///      └─ br0 ── mgmt 198.18.0.11  node-1 ── ra | rb | rc ── A, B, C
///             ── mgmt 198.18.0.12  node-2 ── ra | rb | rc ── A, B, C
///             ── mgmt 198.18.0.13  node-3 ── ra | rb | rc ── A, B, C
///             ── mgmt 198.18.0.14  gateway-1 ── gc | gb1..3 ── client, b1..b3
///                                  (only with `gateway: true`)
///
/// Every node's lab has the same addresses (they live in separate
/// namespaces), so one RouteTable programs them all alike. The agents reach
/// the API server over the management bridge, which no table binds; the
/// Node objects (with their labels) are written by ``registerNodes()``, as
/// the kubelet would. Used by the cluster tests, the soak and
/// `make demo-cluster`; ``delete()`` removes everything, processes included.
///
/// The gateway node (`gateway: true`, for the soak) is a ``GatewayLab``:
/// a client, a gateway namespace with kernel forwarding on (routelet's L4
/// gateway asks the kernel's FIB for next hops) and three backends. It is
/// labelled role=gateway, which no router table selects.
public final class ClusterLab: Sendable {
    public struct Node: Sendable {
        /// The node name the agent runs as, and the Node object's name.
        public let name: String
        public let labels: [String: String]
        public let lab: RouterLab
        public let pins: String
        public let stateDir: String
        /// The node's address on the management bridge.
        public let address: String
        public var router: NetworkNamespace { lab.router }
    }

    /// The gateway node: its agent runs in `lab.gateway`.
    public struct GatewayNode: Sendable {
        public let name: String
        public let labels: [String: String]
        public let lab: GatewayLab
        public let pins: String
        public let stateDir: String
        public let address: String
        /// Where its agent's `routelet gateway` child reads snapshots and writes its status.
        public var gatewayDirectory: String { stateDir + "/gateway" }
    }

    public let api: NetworkNamespace
    /// The router nodes.
    public let nodes: [Node]
    public let gateway: GatewayNode?
    /// The API server's data and the kubeconfig it writes.
    public let directory: String
    public var kubeconfig: String { directory + "/kubeconfig" }
    public static let apiAddress = "198.18.0.1"
    public static let apiPort = 6443

    private let processes = Mutex<[RouteletProcess]>([])

    /// The default nodes: node-1 and node-2 labelled role=edge, node-3 role=core.
    public static let defaultLabels: [[String: String]] = [
        ["role": "edge", "zone": "a"], ["role": "edge", "zone": "b"], ["role": "core", "zone": "c"],
    ]

    public static let gatewayLabels = ["role": "gateway", "zone": "a"]

    /// - Parameters:
    ///   - labels: one set of labels per router node (their number is the number of nodes).
    ///   - gateway: whether to add the gateway node, labelled ``gatewayLabels``.
    public init(labels: [[String: String]] = ClusterLab.defaultLabels, gateway: Bool = false) throws {
        let id = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        directory = NSTemporaryDirectory() + "rl-cluster-\(id)"
        var labs: [RouterLab] = []
        var gatewayLab: GatewayLab?
        var api: NetworkNamespace?
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let bridgeHost = try NetworkNamespace("api")
            api = bridgeHost
            try bridgeHost.ip("link add br0 type bridge")
            try bridgeHost.ip("addr add \(Self.apiAddress)/24 dev br0")
            try bridgeHost.ip("link set br0 up")
            /// A veth from the bridge to `namespace`'s `mgmt` with `address`.
            func attach(_ namespace: NetworkNamespace, number: Int) throws -> String {
                let address = "198.18.0.\(10 + number)", port = "rlm\(number)-\(bridgeHost.name.suffix(6))"
                try Command.run(["ip", "link", "add", port, "netns", bridgeHost.name, "type", "veth", "peer", "name", "mgmt", "netns", namespace.name])
                try bridgeHost.ip("link set \(port) master br0")
                try bridgeHost.ip("link set \(port) up")
                try namespace.ip("addr add \(address)/24 dev mgmt")
                try namespace.ip("link set mgmt up")
                return address
            }
            var nodes: [Node] = []
            for (index, nodeLabels) in labels.enumerated() {
                let lab = try RouterLab()
                labs.append(lab)
                let number = index + 1
                let address = try attach(lab.router, number: number)
                nodes.append(Node(name: "node-\(number)", labels: nodeLabels, lab: lab, pins: "/sys/fs/bpf/rl-cluster-\(id)-\(number)",
                                  stateDir: directory + "/node-\(number)", address: address))
            }
            if gateway {
                let lab = try GatewayLab()
                gatewayLab = lab
                let address = try attach(lab.gateway, number: labels.count + 1)
                self.gateway = GatewayNode(name: "gateway-1", labels: Self.gatewayLabels, lab: lab, pins: "/sys/fs/bpf/rl-cluster-\(id)-gw",
                                           stateDir: directory + "/gateway-1", address: address)
            } else {
                self.gateway = nil
            }
            self.api = bridgeHost
            self.nodes = nodes
        } catch {
            labs.forEach { $0.delete() }
            gatewayLab?.delete()
            api?.delete()
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// `routelet apiserver` in the API namespace, once it listens (again, on
    /// the same data, after a ``RouteletProcess/stop(signal:)``).
    public func startAPIServer(extra: [String] = []) throws -> RouteletProcess {
        let server = try track(RouteletProcess(namespace: api, arguments: [
            "apiserver", "--listen", "\(Self.apiAddress):\(Self.apiPort)", "--data-dir", directory + "/api", "--kubeconfig-out", kubeconfig,
        ] + extra))
        try server.waitForLog("the API server") { $0["msg"] == "API server listening" }
        return server
    }

    /// `routelet agent` for node `index` (0-based) over the API, with a 3 s
    /// aggregator lease; `extra` arguments are appended.
    public func startAgent(_ index: Int, resync: String = "30s", extra: [String] = []) throws -> RouteletProcess {
        let node = nodes[index]
        return try track(RouteletProcess(namespace: node.router, arguments: [
            "agent", "--kubeconfig", kubeconfig, "--node-name", node.name, "--bpffs-dir", node.pins, "--state-dir", node.stateDir,
            "--resync-period", resync, "--lease-duration", "3s",
        ] + extra))
    }

    /// `routelet agent` for the gateway node, with a `routelet gateway`
    /// child (which outlives the agent: a restarted agent adopts it).
    public func startGatewayAgent(resync: String = "30s", extra: [String] = []) throws -> RouteletProcess {
        guard let node = gateway else { throw ServerTestError("this cluster has no gateway node") }
        return try track(RouteletProcess(namespace: node.lab.gateway, arguments: [
            "agent", "--kubeconfig", kubeconfig, "--node-name", node.name, "--bpffs-dir", node.pins, "--state-dir", node.stateDir,
            "--resync-period", resync, "--lease-duration", "3s", "--gateway", "child", "--access-log", node.stateDir + "/access.log",
        ] + extra))
    }

    /// The Node objects, with each node's labels, as the kubelet writes them.
    public func registerNodes() throws {
        let named = nodes.map { ($0.name, $0.labels) } + (gateway.map { [($0.name, $0.labels)] } ?? [])
        let manifest = named.map { name, labels in
            let labels = labels.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            return "apiVersion: v1\nkind: Node\nmetadata: {name: \(name), labels: {\(labels)}}\n"
        }.joined(separator: "---\n")
        try apply(manifest)
    }

    /// `kubectl apply -f -` of `manifest`; throws kubectl's message when it fails.
    public func apply(_ manifest: String) throws {
        let result = try kubectl(["apply", "-f", "-"], input: manifest)
        guard result.status == 0 else { throw ServerTestError("kubectl apply failed (\(result.status)): \(result.stderr)") }
    }

    /// The cluster's two tables (manifests/examples/cluster/tables.yaml, from
    /// the source tree unless `file` says otherwise), with `extraTransitRoutes`
    /// (flow-style YAML, like `{destination: 198.18.66.0/24, type: Blackhole}`)
    /// appended to table transit's routes.
    public static func tables(extraTransitRoutes: [String] = [], file: String? = nil) throws -> String {
        let path = file ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../manifests/examples/cluster/tables.yaml").standardized.path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let last = "  - {destination: \"2001:db8:3::/64\", interface: rc}\n"
        guard text.contains(last) else { throw ServerTestError("\(path): table transit has no route \(last) to append after") }
        return text.replacingOccurrences(of: last, with: last + extraTransitRoutes.map { "  - \($0)\n" }.joined())
    }

    /// kubectl against the API server, from the API namespace.
    @discardableResult
    public func kubectl(_ arguments: [String], input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try api.runAllowingFailure(["kubectl", "--kubeconfig", kubeconfig] + arguments, input: input)
    }

    /// A JSONPath of an object, through kubectl ("" when absent).
    public func jsonpath(_ object: String, _ path: String, namespace: String? = nil) throws -> String {
        try kubectl(["get", object, "-o", "jsonpath={\(path)}"] + (namespace.map { ["-n", $0] } ?? [])).stdout
    }

    /// Who holds the aggregator Lease ("" when nobody does).
    public func leaseHolder() throws -> String {
        try jsonpath("lease/routelet-aggregator", ".spec.holderIdentity", namespace: "routelet-system")
    }

    /// Stops every process still running (SIGTERM), removes the namespaces,
    /// the pins and the directory.
    public func delete() {
        for process in processes.withLock({ $0 }) {
            if process.process.isRunning { process.stop() } else { process.stopGateway() }   // a gateway its killed agent left
        }
        nodes.forEach { Dataplane.removePins(in: $0.pins) }
        nodes.forEach { $0.lab.delete() }
        if let gateway {
            // Its gateway child was stopped with the agent (RouteletProcess.stop).
            Dataplane.removePins(in: gateway.pins)
            gateway.lab.delete()
        }
        api.delete()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func track(_ process: RouteletProcess) -> RouteletProcess {
        processes.withLock { $0.append(process) }
        return process
    }
}
