import Foundation

/// Traffic generators and sinks run inside lab namespaces (Debian's
/// python3 and iputils-ping).
public enum Traffic {
    public static let python = "/usr/bin/python3"

    /// Pings `address` `count` times; returns how many replies came back.
    public static func ping(from host: NetworkNamespace, _ address: String, count: Int = 3, interval: Double = 0.2) throws -> Int {
        let result = try host.runAllowingFailure(["ping", "-n", "-q", "-c", "\(count)", "-i", "\(interval)", "-W", "1", address])
        // "3 packets transmitted, 3 received, ..."
        let summary = result.stdout.split(separator: "\n").first { $0.contains("packets transmitted") } ?? ""
        let fields = summary.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return fields.count > 1 ? Int(fields[1].split(separator: " ")[0]) ?? 0 : 0
    }

    /// Sends `bytes` of pseudo-random data over TCP from `client` to a sink
    /// in `server`; returns (sent, received) as "length sha256" strings.
    public static func tcpTransfer(from client: NetworkNamespace, to server: NetworkNamespace, address: String,
                                   port: Int = 5001, bytes: Int = 1 << 20) throws -> (sent: String, received: String) {
        let family = address.contains(":") ? "AF_INET6" : "AF_INET"
        let sink = try server.start([python, "-c", """
            import hashlib, socket
            s = socket.socket(socket.\(family), socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("\(address)", \(port))); s.listen(1); s.settimeout(20)
            c, _ = s.accept(); c.settimeout(20)
            h = hashlib.sha256(); n = 0
            while True:
                b = c.recv(65536)
                if not b: break
                h.update(b); n += len(b)
            print(n, h.hexdigest())
            """])
        defer { sink.stop() }
        let sent = try client.run([python, "-c", """
            import hashlib, random, socket, time
            data = random.Random(7).randbytes(\(bytes))
            for attempt in range(50):
                try:
                    s = socket.create_connection(("\(address)", \(port)), timeout=10); break
                except OSError:
                    time.sleep(0.1)
            else:
                raise SystemExit("could not connect to \(address):\(port)")
            s.sendall(data); s.shutdown(socket.SHUT_WR); s.recv(1); s.close()
            print(len(data), hashlib.sha256(data).hexdigest())
            """])
        let received = sink.wait()
        return (sent.trimmingCharacters(in: .whitespacesAndNewlines), received.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Counts UDP datagrams to `address:port` by source port. It ends by
    /// itself once traffic has been idle for `idle` seconds after the first
    /// datagram (or after `seconds` in all): `wait()` for it and parse its
    /// output with ``udpCounts(_:)``.
    public static func udpCounter(in host: NetworkNamespace, address: String, port: Int = 9000,
                                  seconds: Double = 20, idle: Double = 0.5) throws -> Command.Background {
        let family = address.contains(":") ? "AF_INET6" : "AF_INET"
        return try host.start([python, "-c", """
            import json, socket, time
            counts = {}
            s = socket.socket(socket.\(family), socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            s.bind(("\(address)", \(port))); s.settimeout(0.1)
            end = time.time() + \(seconds); last = None
            while time.time() < end and (last is None or time.time() - last < \(idle)):
                try:
                    _, peer = s.recvfrom(2048)
                    counts[str(peer[1])] = counts.get(str(peer[1]), 0) + 1
                    last = time.time()
                except socket.timeout:
                    pass
            print(json.dumps(counts))
            """])
    }

    public static func udpCounts(_ output: String) -> [Int: Int] {
        guard let data = output.split(separator: "\n").last.map({ Data($0.utf8) }),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Int] else { return [:] }
        return Dictionary(uniqueKeysWithValues: object.compactMap { key, value in Int(key).map { ($0, value) } })
    }

    /// Sends `packetsPerFlow` datagrams on each of `flows` flows (source
    /// ports firstPort, firstPort+1, ...) to `address:port`.
    public static func udpFlows(from host: NetworkNamespace, to address: String, port: Int = 9000, flows: Int,
                                packetsPerFlow: Int, firstPort: Int = 20000, interval: Double = 0.01) throws {
        let family = address.contains(":") ? "AF_INET6" : "AF_INET"
        try host.run([python, "-c", """
            import socket, time
            socks = []
            for i in range(\(flows)):
                s = socket.socket(socket.\(family), socket.SOCK_DGRAM)
                s.bind(("", \(firstPort) + i)); socks.append(s)
            for n in range(\(packetsPerFlow)):
                for s in socks:
                    s.sendto(b"routelet", ("\(address)", \(port)))
                time.sleep(\(interval))
            """])
    }
}

extension Traffic {
    /// Waits until something in `host` listens on UDP `port` (up to 5 s).
    public static func waitForUDPListener(in host: NetworkNamespace, port: Int) throws {
        for _ in 0..<100 {
            let listening = try host.run(["ss", "-Hlun", "sport = :\(port)"])
            if !listening.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw Command.Failure(command: ["ss", "-Hlun"], status: 1, stdout: "", stderr: "nothing listens on UDP port \(port) in \(host.name) after 5 s")
    }
}
