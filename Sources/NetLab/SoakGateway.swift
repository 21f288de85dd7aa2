import Dataplane
import DataplaneModel
import Foundation
import GatewayConfig

/// The gateway half of the soak: the cluster's gateway node serves two
/// GatewayRoutes on one listener address, both backed by Services whose
/// EndpointSlices the driver churns (fault `endpointChurn`):
///
/// - `tcp`: 198.51.100.10:90/TCP in eBPF (Maglev, conntrack, SNAT) to
///   Service `users` (the backends' TCP servers, 8080). A client opens a new
///   connection every 50 ms for the whole run; each must be answered by a
///   backend.
/// - `web`: 198.51.100.10:80/HTTP through `routelet gateway` to Service
///   `web` (the backends' HTTP servers, 8081). Two kept-alive connections
///   send a request every 20 ms; each must be answered 200.
///
/// The churn only changes what the EndpointSlices say (a backend ready, not
/// ready, or gone from the slice); every backend keeps running, so a
/// connection or request that fails is routelet's doing.
extension Soak {
    /// A backend's endpoint in both EndpointSlices.
    enum Endpoint: String, Sendable {
        case ready, notReady, absent
    }

    static let tcpListenerPort = 90
    static let httpListenerPort = 80

    /// The Services, their EndpointSlices with `endpoints` (one per
    /// backend) and the two GatewayRoutes on the gateway node.
    static func gatewayManifest(_ endpoints: [Endpoint]) -> String {
        func service(_ name: String, port: Int, targetPort: Int) -> String {
            let listed = endpoints.enumerated().filter { $0.element != .absent }.map { index, endpoint in
                "  - {addresses: [\(GatewayLab.backendAddress(index))], conditions: {ready: \(endpoint == .ready)}}"
            }
            return """
                apiVersion: v1
                kind: Service
                metadata: {name: \(name), namespace: default}
                spec:
                  ports: [{name: main, port: \(port), targetPort: \(targetPort), protocol: TCP}]
                ---
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: \(name)-1, namespace: default, labels: {kubernetes.io/service-name: \(name)}}
                addressType: IPv4
                ports: [{name: main, port: \(targetPort), protocol: TCP}]
                endpoints:\(listed.isEmpty ? " []" : "\n" + listed.joined(separator: "\n"))

                """
        }
        func route(_ name: String, port: Int, protocol: String, service: String) -> String {
            """
            apiVersion: routelet.dev/v1alpha1
            kind: GatewayRoute
            metadata: {name: \(name), namespace: default}
            spec:
              nodeSelector: {matchLabels: {role: gateway}}
              interfaces: [gc, "gb*"]       # clients arrive on gc, the backends' replies on gb1..3
              listener: {address: \(GatewayLab.listener), port: \(port), protocol: \(`protocol`)}
              rules:
              - backends:
                - {service: {name: \(service), port: \(port)}}

            """
        }
        return [service("users", port: tcpListenerPort, targetPort: GatewayLab.tcpPort),
                service("web", port: httpListenerPort, targetPort: GatewayLab.httpPort),
                route("tcp", port: tcpListenerPort, protocol: "TCP", service: "users"),
                route("web", port: httpListenerPort, protocol: "HTTP", service: "web")].joined(separator: "---\n")
    }

    /// One backend's endpoint moves to another state (ready, not ready,
    /// gone from the slice), never leaving no backend ready. Returns what
    /// changed, in words.
    static func churn(_ endpoints: inout [Endpoint], using random: inout SplitMix64) -> String {
        while true {
            let index = random.int(in: 0...(endpoints.count - 1))
            let others: [Endpoint] = [.ready, .notReady, .absent].filter { $0 != endpoints[index] }
            let next = others[random.int(in: 0...(others.count - 1))]
            var changed = endpoints
            changed[index] = next
            guard changed.contains(.ready) else { continue }
            defer { endpoints = changed }
            return "\(GatewayLab.backendName(index)) \(endpoints[index].rawValue) -> \(next.rawValue)"
        }
    }

    /// What keeps the gateway node from having converged to `endpoints`,
    /// nil when nothing: the TCP listener's Maglev table names exactly the
    /// ready backends, the snapshot `routelet gateway` serves routes to
    /// exactly them, and both routes report their node Programmed at their
    /// generation with the node's count of ready backends.
    func gatewayProblem(_ cluster: ClusterLab, _ node: ClusterLab.GatewayNode, endpoints: [Endpoint]) throws -> String? {
        let ready = endpoints.indices.filter { endpoints[$0] == .ready }.map(GatewayLab.backendAddress)
        guard let router = try? RouterMaps.openPinned(directory: node.pins),
              let maps = try? GatewayMaps.openPinned(directory: node.pins, router: router),
              let listeners = try? maps.allListeners(), let tables = try? maps.allMaglev(), let backends = try? maps.allBackends() else {
            return "\(node.name): gateway maps not readable"
        }
        guard let listener = listeners.first(where: { $0.key.port == Self.tcpListenerPort })?.value else { return "\(node.name): no TCP listener" }
        let programmed = Set((tables[listener.id]?.slots ?? []).map { backends[$0]?.description ?? "backend \($0) missing" })
        let expected = Set(ready.map { "\($0):\(GatewayLab.tcpPort)" })
        if programmed != expected { return "\(node.name): the TCP listener's table holds \(programmed.sorted()), expected \(expected.sorted())" }

        let directory = URL(fileURLWithPath: node.gatewayDirectory)
        guard let snapshot = try? GatewaySnapshot.load(from: directory) else { return "\(node.name): no gateway snapshot" }
        let served = snapshot.listeners.first { $0.port == Self.httpListenerPort }?.routes.first?.rules.first?.backends.first?.endpoints ?? []
        let expectedHTTP = ready.map { "\($0):\(GatewayLab.httpPort)" }
        if served.sorted() != expectedHTTP.sorted() { return "\(node.name): the snapshot's web backends are \(served), expected \(expectedHTTP)" }
        guard let serving = GatewayServingStatus.load(from: directory), serving.version >= snapshot.version else {
            return "\(node.name): routelet gateway does not serve snapshot \(snapshot.version) yet"
        }

        let status = try cluster.kubectl(["get", "gwr", "-n", "default", "-o",
            "jsonpath={range .items[*]}{.metadata.name} {.metadata.generation} {.status.observedGeneration} {.status.nodesReady} {.status.conditions[?(@.type==\"Programmed\")].status} {.status.backendsReady}{\"\\n\"}{end}"])
        guard status.status == 0 else { return "kubectl get gwr: \(status.stderr)" }
        let counts = "\(ready.count)/\(endpoints.count { $0 != .absent })"
        let lines = Set(status.stdout.split(separator: "\n").map { line -> String in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count == 6, fields[1] == fields[2] else { return "stale \(line)" }
            return "\(fields[0]) \(fields[3]) \(fields[4]) \(fields[5])"
        })
        return lines == ["tcp 1/1 True \(counts)", "web 1/1 True \(counts)"] ? nil : "gateway route statuses \(status.stdout)"
    }

    /// A new TCP connection to the TCP listener every 50 ms for `seconds`,
    /// each reset after the backend's answer (no TIME_WAIT); prints JSON
    /// {"ok", "failed", "first" (the first failures), "backends" (answers by backend)}.
    static func tcpConnector(seconds: Double) -> String {
        """
        import json, socket, struct, time
        ok, failed, backends = 0, [], {}
        start = time.time()
        while time.time() - start < \(seconds):
            t = time.time() - start
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.settimeout(3)
            try:
                s.connect(("\(GatewayLab.listener)", \(tcpListenerPort)))
                line = b""
                while not line.endswith(b"\\n"):
                    b = s.recv(64)
                    if not b: break
                    line += b
                name = line.decode().split(" ")[0]
                if name.startswith("b"):
                    ok += 1; backends[name] = backends.get(name, 0) + 1
                else:
                    failed.append("%.1f s: answered %r" % (t, line))
            except OSError as e:
                failed.append("%.1f s: %s" % (t, e))
            s.close()
            time.sleep(0.05)
        print(json.dumps({"ok": ok, "failed": len(failed), "first": failed[:10], "backends": backends}))
        """
    }

    /// Two kept-alive HTTP connections to the HTTP listener, a request every
    /// 20 ms each, for `seconds`; prints JSON {"ok", "statuses", "failed",
    /// "first"}. A request that gets no answer counts as failed, and its
    /// connection is opened again.
    static func httpLoad(seconds: Double) -> String {
        """
        import http.client, json, threading, time
        result = {"ok": 0, "statuses": {}, "failed": 0, "first": []}
        lock = threading.Lock()
        start = time.time()
        def run():
            c = http.client.HTTPConnection("\(GatewayLab.listener)", \(httpListenerPort), timeout=5)
            while time.time() - start < \(seconds):
                t = time.time() - start
                try:
                    c.request("GET", "/soak")
                    r = c.getresponse(); r.read()
                    with lock:
                        result["statuses"][str(r.status)] = result["statuses"].get(str(r.status), 0) + 1
                        if r.status == 200: result["ok"] += 1
                        else:
                            result["failed"] += 1; result["first"].append("%.1f s: status %d" % (t, r.status))
                except Exception as e:
                    with lock:
                        result["failed"] += 1; result["first"].append("%.1f s: %r" % (t, e))
                    c.close(); c = http.client.HTTPConnection("\(GatewayLab.listener)", \(httpListenerPort), timeout=5)
                time.sleep(0.02)
        threads = [threading.Thread(target=run) for _ in range(2)]
        [t.start() for t in threads]; [t.join() for t in threads]
        result["first"] = result["first"][:10]
        print(json.dumps(result))
        """
    }
}
