import Foundation
import Gateway
import GatewayConfig
import Testing

extension GatewaySuite {
    @Suite struct HTTPSTests {
        /// A self-signed certificate for `names` (the first is the CN) as cert.pem/key.pem files named `stem`.
        static func makeCertificate(_ names: [String], stem: String, in directory: URL) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                                 "-subj", "/CN=\(names[0])", "-addext", "subjectAltName=" + names.map { "DNS:\($0)" }.joined(separator: ","),
                                 "-keyout", directory.appendingPathComponent("\(stem).key").path,
                                 "-out", directory.appendingPathComponent("\(stem).crt").path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "openssl req for \(names)")
        }

        /// curl over TLS to `name` on the listener, trusting only `stem`'s certificate: (exit status, body).
        static func fetch(_ name: String, port: Int, trusting stem: String, in directory: URL, path: String = "/") throws -> (Int32, String) {
            try curl(["--cacert", directory.appendingPathComponent("\(stem).crt").path, "--resolve", "\(name):\(port):127.0.0.1",
                      "https://\(name):\(port)\(path)"])
        }

        @Test func sniChoosesTheCertificateAndCertificatesReloadWithANewSnapshot() async throws {
            let web = try await TestBackend(name: "web", group: backendGroup)
            let harness = try Harness()
            let dir = harness.directory
            try Self.makeCertificate(["a.example.com"], stem: "a", in: dir)
            try Self.makeCertificate(["*.b.example.com"], stem: "b", in: dir)
            func tlsSnapshot(_ version: UInt64) -> GatewaySnapshot {
                GatewaySnapshot(version: version, listeners: [
                    HTTPListenerConfig(address: "127.0.0.1", port: 0, protocol: "HTTPS", certificates: [
                        TLSCertificateConfig(secret: "shop/a", certificateFile: "a.crt", keyFile: "a.key", hostnames: ["a.example.com"]),
                        TLSCertificateConfig(secret: "shop/b", certificateFile: "b.crt", keyFile: "b.key", hostnames: ["*.b.example.com"]),
                    ], routes: [route([rule(0, [backend([web.endpoint])])])]),
                ])
            }
            try await harness.start(tlsSnapshot(1))
            let port = harness.port()
            #expect(port > 0)

            #expect(try Self.fetch("a.example.com", port: port, trusting: "a", in: dir) == (0, "web\n"))
            #expect(try Self.fetch("x.b.example.com", port: port, trusting: "b", in: dir) == (0, "web\n"))
            // Without a matching name the first certificate is offered: b's trust fails for it, a's name does not match.
            #expect(try Self.fetch("a.example.com", port: port, trusting: "b", in: dir).0 != 0)
            let (_, headers) = try Self.fetch("a.example.com", port: port, trusting: "a", in: dir, path: "/echo-headers")
            #expect(headers.contains("X-Forwarded-Proto: https"), "\(headers)")
            #expect(headers.contains("proto=https"))

            // The agent rewrites a's files (a renewed Secret) and writes a new snapshot version.
            try Self.makeCertificate(["a.example.com"], stem: "a-old", in: dir)
            try FileManager.default.removeItem(at: dir.appendingPathComponent("a-old.crt"))
            try FileManager.default.copyItem(at: dir.appendingPathComponent("a.crt"), to: dir.appendingPathComponent("a-old.crt"))
            try Self.makeCertificate(["a.example.com"], stem: "a", in: dir)
            #expect(try Self.fetch("a.example.com", port: port, trusting: "a-old", in: dir).0 == 0, "the old certificate until the snapshot says")
            try await harness.server.apply(tlsSnapshot(2)).get()
            #expect(try Self.fetch("a.example.com", port: port, trusting: "a", in: dir) == (0, "web\n"))
            #expect(try Self.fetch("a.example.com", port: port, trusting: "a-old", in: dir).0 != 0)
            await harness.stop()
            await web.close()
        }
    }
}
