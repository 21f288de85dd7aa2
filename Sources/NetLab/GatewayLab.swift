import Foundation

/// A gateway namespace between a client and backends, for the L4
/// GatewayRoute tests, benchmarks and the demo:
///
///     client (198.18.10.2) ── gc | gateway | gb1 ── b1 (198.18.21.2)
///                                |         | gb2 ── b2 (198.18.22.2)
///                                |         | gb3 ── b3 (198.18.23.2)
///
/// The client routes everything through the gateway; the listener address
/// (198.51.100.10) exists nowhere, routelet serves it. The backends have no
/// route back to the client unless asked (`routeBack`), so only SNAT makes
/// their replies return. Each backend runs a TCP server on 8080 and a UDP
/// server on 5353 that answer with the backend's name and the peer's
/// address. Kernel forwarding is on in the gateway, as on every Kubernetes
/// node: the eBPF stage asks the kernel's FIB for the next hop
/// (bpf_fib_lookup answers only when forwarding is on); no kernel NAT rule
/// exists anywhere.
public final class GatewayLab: Sendable {
    public let gateway: NetworkNamespace
    public let client: NetworkNamespace
    public let backends: [NetworkNamespace]

    public static let listener = "198.51.100.10"
    public static let clientAddress = "198.18.10.2"
    /// With `ipv6`: the client side's addresses and an IPv6 listener address.
    public static let listener6 = "2001:db8:51::10"
    public static let clientAddress6 = "2001:db8:10::2"
    public static let gatewayAddress6 = "2001:db8:10::1"
    public static let tcpPort = 8080
    public static let udpPort = 5353
    /// Each backend's HTTP/1.1 server (keep-alive): it answers every request
    /// with JSON {"backend", "method", "path", "peer", "headers"} (header
    /// names lowercase), and `?bytes=N` with N bytes of "x" instead.
    public static let httpPort = 8081

    public static func backendAddress(_ index: Int) -> String { "198.18.\(21 + index).2" }
    public static func gatewayAddress(backend index: Int) -> String { "198.18.\(21 + index).1" }
    /// The name a backend answers with: b1, b2, ...
    public static func backendName(_ index: Int) -> String { "b\(index + 1)" }

    public var all: [NetworkNamespace] { [gateway, client] + backends }
    private let servers: [Command.Background]

    /// `ipv6`: the client link also carries IPv6 (client ``clientAddress6``,
    /// routed through the gateway).
    public init(backendCount: Int = 3, routeBack: Bool = false, ipv6: Bool = false) throws {
        var made: [NetworkNamespace] = []
        var started: [Command.Background] = []
        do {
            for role in ["gw", "cl"] + (0..<backendCount).map({ "be\($0 + 1)" }) { made.append(try NetworkNamespace(role)) }
            gateway = made[0]
            client = made[1]
            backends = Array(made[2...])
            for namespace in made {
                try namespace.sysctl("net.ipv6.conf.default.accept_dad=0")
                try namespace.sysctl("net.ipv6.conf.all.accept_dad=0")
            }
            try gateway.sysctl("net.ipv4.ip_forward=1")
            try Self.link(gateway, "gc", client, address: "198.18.10.1/24", peerAddress: "\(Self.clientAddress)/24")
            try client.ip("route add default via 198.18.10.1")
            if ipv6 {
                try gateway.ip("-6 addr add \(Self.gatewayAddress6)/64 dev gc nodad")
                try client.ip("-6 addr add \(Self.clientAddress6)/64 dev eth0 nodad")
                try client.ip("-6 route add default via \(Self.gatewayAddress6)")
                try gateway.sysctl("net.ipv6.conf.all.forwarding=1")
            }
            for (index, backend) in backends.enumerated() {
                try Self.link(gateway, "gb\(index + 1)", backend, address: "\(Self.gatewayAddress(backend: index))/24",
                              peerAddress: "\(Self.backendAddress(index))/24")
                if routeBack { try backend.ip("route add default via \(Self.gatewayAddress(backend: index))") }
                started.append(try backend.start([Traffic.python, "-c", Self.serverScript(name: Self.backendName(index))]))
            }
            servers = started
            for backend in backends {
                try Traffic.waitForUDPListener(in: backend, port: Self.udpPort)
                try Self.waitForTCPListener(in: backend, port: Self.tcpPort)
                try Self.waitForTCPListener(in: backend, port: Self.httpPort)
            }
        } catch {
            started.forEach { _ = $0.stop(signal: SIGKILL) }
            made.forEach { $0.delete() }
            throw error
        }
    }

    /// Stops the servers and removes every namespace of the lab.
    public func delete() {
        servers.forEach { _ = $0.stop(signal: SIGKILL) }
        all.forEach { $0.delete() }
    }

    /// The gateway's interfaces: towards the client, then each backend.
    public var gatewayInterfaces: [String] { ["gc"] + backends.indices.map { "gb\($0 + 1)" } }

    private static func link(_ near: NetworkNamespace, _ name: String, _ far: NetworkNamespace, address: String,
                             peerAddress: String) throws {
        let temporary = "rlg\(UInt32.random(in: 0...UInt32.max) % 100_000)"
        try Command.run(["ip", "link", "add", name, "netns", near.name, "type", "veth", "peer", "name", temporary, "netns", far.name])
        try far.ip("link set \(temporary) name eth0")
        try near.ip("link set \(name) up")
        try far.ip("link set eth0 up")
        try near.ip("addr add \(address) dev \(name)")
        try far.ip("addr add \(peerAddress) dev eth0")
    }

    public static func waitForTCPListener(in host: NetworkNamespace, port: Int) throws {
        for _ in 0..<100 {
            if !(try host.run(["ss", "-Hltn", "sport = :\(port)"])).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw Command.Failure(command: ["ss", "-Hltn"], status: 1, stdout: "", stderr: "nothing listens on TCP port \(port) in \(host.name) after 5 s")
    }

    /// A backend: TCP answers "NAME PEER\n", then streams 1 KiB every 5 ms
    /// if the client sends "stream"; UDP answers each datagram "NAME PEER".
    static func serverScript(name: String) -> String {
        """
        import socket, socketserver, threading, time
        class TCP(socketserver.BaseRequestHandler):
            def handle(self):
                s = self.request
                s.sendall(b"\(name) %s\\n" % self.client_address[0].encode())
                s.settimeout(30)
                try:
                    if s.recv(16).startswith(b"stream"):
                        chunk = b"x" * 1024
                        while True:
                            s.sendall(chunk); time.sleep(0.005)
                except OSError:
                    pass
        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True
            request_queue_size = 512
        def udp():
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind(("0.0.0.0", \(udpPort)))
            while True:
                _, peer = u.recvfrom(2048)
                u.sendto(b"\(name) %s" % peer[0].encode(), peer)
        import http.server, json
        class HTTP(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args): pass
            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                received = 0
                while received < length:
                    chunk = self.rfile.read(min(65536, length - received))
                    if not chunk: break
                    received += len(chunk)
                query = self.path.partition("?")[2]
                size = next((int(p[6:]) for p in query.split("&") if p.startswith("bytes=")), None)
                if size is not None:
                    self.send_response(200); self.send_header("Content-Length", str(size)); self.end_headers()
                    block = b"x" * 65536
                    while size > 0:
                        self.wfile.write(block[:min(size, 65536)]); size -= 65536
                    return
                body = json.dumps({"backend": "\(name)", "method": self.command, "path": self.path, "peer": self.client_address[0],
                                   "received": received, "headers": {k.lower(): v for k, v in self.headers.items()}}).encode() + b"\\n"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD": self.wfile.write(body)
            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = answer
        class HTTPServer(http.server.ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True
            request_queue_size = 512
        threading.Thread(target=HTTPServer(("0.0.0.0", \(httpPort)), HTTP).serve_forever, daemon=True).start()
        threading.Thread(target=udp, daemon=True).start()
        Server(("0.0.0.0", \(tcpPort)), TCP).serve_forever()
        """
    }

    /// Opens one TCP connection to the listener from each source port, reads
    /// the backend's answer, and resets the connection (no TIME_WAIT, so
    /// the same ports can be used again at once). Returns source port ->
    /// "NAME PEER"; a connection that failed maps to "error: ...".
    public func connect(fromPorts ports: [Int], to address: String = listener, port: Int = 80, spacing: Double = 0) throws -> [Int: String] {
        let output = try client.run([Traffic.python, "-c", """
            import json, socket, struct, sys, time
            result = {}
            for p in \(ports):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.settimeout(3)
                try:
                    s.bind(("\(Self.clientAddress)", p)); s.connect(("\(address)", \(port)))
                    line = b""
                    while not line.endswith(b"\\n"):
                        b = s.recv(64)
                        if not b: break
                        line += b
                    result[p] = line.decode().strip()
                except OSError as e:
                    result[p] = "error: %s" % e
                s.close()
                if \(spacing) > 0: time.sleep(\(spacing))
            print(json.dumps(result))
            """])
        return Self.decodeMap(output)
    }

    /// Sends one UDP datagram to the listener from each source port and
    /// returns source port -> "NAME PEER" of the answer ("error: ..." when none).
    public func udpAsk(fromPorts ports: [Int], to address: String = listener, port: Int = 53) throws -> [Int: String] {
        let output = try client.run([Traffic.python, "-c", """
            import json, socket
            result = {}
            for p in \(ports):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("\(Self.clientAddress)", p)); s.settimeout(2)
                try:
                    s.sendto(b"q", ("\(address)", \(port)))
                    result[p] = s.recvfrom(256)[0].decode()
                except OSError as e:
                    result[p] = "error: %s" % e
                s.close()
            print(json.dumps(result))
            """])
        return Self.decodeMap(output)
    }

    /// A long-lived connection that asks its backend to stream, counting the
    /// bytes received in each 250 ms window for `seconds`; `wait()` returns
    /// JSON {"backend": "NAME PEER", "windows": [bytes, ...], "error": ...}.
    public func startStream(fromPort: Int, seconds: Double, to address: String = listener, port: Int = 80) throws -> Command.Background {
        try client.start([Traffic.python, "-c", """
            import json, socket, time
            s = socket.create_connection(("\(address)", \(port)), timeout=5, source_address=("\(Self.clientAddress)", \(fromPort)))
            line = b""
            while not line.endswith(b"\\n"):
                line += s.recv(1)
            s.sendall(b"stream")
            windows, error = [], None
            end = time.time() + \(seconds)
            s.settimeout(0.25)
            while time.time() < end:
                start, n = time.time(), 0
                while time.time() - start < 0.25:
                    try:
                        b = s.recv(65536)
                        if not b: error = "closed"; break
                        n += len(b)
                    except socket.timeout:
                        break
                    except OSError as e:
                        error = str(e); break
                windows.append(n)
                if error: break
            s.close()
            print(json.dumps({"backend": line.decode().strip(), "windows": windows, "error": error}))
            """])
    }

    /// What `routelet gateway` does with a listener, in miniature: an HTTP/1.1
    /// server (keep-alive) in the gateway namespace whose sockets are bound
    /// to `addresses` (no address of any interface) with IP_TRANSPARENT /
    /// IPV6_TRANSPARENT, as the gateway binds its listeners. Each response
    /// is one JSON line: the peer (address, port) and the socket's own
    /// (getsockname). Returns once it listens; stop it with `stop()`.
    public func startTransparentHTTPServer(addresses: [String], port: Int = 80) throws -> Command.Background {
        let server = try gateway.start([Traffic.python, "-c", Self.transparentServerScript(addresses: addresses, port: port)])
        do {
            try Self.waitForTCPListener(in: gateway, port: port)
        } catch {
            let output = server.stop(signal: SIGKILL)
            throw Command.Failure(command: server.command, status: output.status, stdout: output.stdout,
                                  stderr: "\(error); the server said: \(output.stderr)")
        }
        return server
    }

    public static func transparentServerScript(addresses: [String], port: Int) -> String {
        """
        import json, socket, socketserver, threading
        from http.server import BaseHTTPRequestHandler, HTTPServer
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                local = self.connection.getsockname()
                body = json.dumps({"peer": self.client_address[0], "peerPort": self.client_address[1],
                                   "local": local[0], "localPort": local[1]}).encode() + b"\\n"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        class Transparent(socketserver.ThreadingMixIn, HTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            def server_bind(self):
                if self.address_family == socket.AF_INET6:
                    self.socket.setsockopt(41, 75, 1)              # SOL_IPV6, IPV6_TRANSPARENT
                else:
                    self.socket.setsockopt(socket.SOL_IP, 19, 1)   # IP_TRANSPARENT
                socketserver.TCPServer.server_bind(self)           # no getfqdn: there is no DNS here
                self.server_name, self.server_port = self.server_address[:2]
        class Transparent6(Transparent):
            address_family = socket.AF_INET6
        for address in [\(addresses.map { "\"\($0)\"" }.joined(separator: ", "))]:
            kind = Transparent6 if ":" in address else Transparent
            threading.Thread(target=kind((address, \(port)), Handler).serve_forever, daemon=True).start()
        threading.Event().wait()
        """
    }

    /// `curl` in the client namespace fetching each URL in turn over one
    /// kept-alive connection when it can; returns curl's exit status (0:
    /// every request answered), the bodies (one JSON line each) and stderr.
    public func curl(_ urls: [String], connectTimeout: Double = 2) throws -> (status: Int32, lines: [String], stderr: String) {
        let result = try client.runAllowingFailure(["curl", "-sS", "--connect-timeout", "\(connectTimeout)",
                                                    "--max-time", "\(connectTimeout + 3)"] + urls)
        return (result.status, result.stdout.split(separator: "\n").map(String.init), result.stderr)
    }

    static func decodeMap(_ output: String) -> [Int: String] {
        guard let data = output.split(separator: "\n").last.map({ Data($0.utf8) }),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: String] else { return [:] }
        return Dictionary(uniqueKeysWithValues: object.compactMap { key, value in Int(key).map { ($0, value) } })
    }
}
