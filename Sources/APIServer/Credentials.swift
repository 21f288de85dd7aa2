import Crypto
import Foundation
import SwiftASN1
import X509

/// What the API server generates on first start and keeps in its data
/// directory: the bearer token every request must carry, a self-signed CA,
/// and a server certificate signed by it.
public struct Credentials: Sendable {
    public var token: String
    public var caCertificatePEM: String
    public var serverCertificatePEM: String
    public var serverKeyPEM: String

    static let tokenFile = "token"
    static let caCertificateFile = "ca.crt", caKeyFile = "ca.key"
    static let serverCertificateFile = "server.crt", serverKeyFile = "server.key"

    /// Loads what exists in `directory` and creates what is missing. The
    /// server certificate is issued anew on every start (from the kept CA),
    /// for `hosts` (names and IP addresses the clients use).
    public static func loadOrCreate(in directory: String, hosts: [String]) throws -> Credentials {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let token: String
        if let existing = read(directory, tokenFile)?.trimmingCharacters(in: .whitespacesAndNewlines), existing.count >= 32 {
            token = existing
        } else {
            token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            try write(directory, tokenFile, token + "\n")
        }

        let caKey: P256.Signing.PrivateKey
        let caCertificate: Certificate
        if let keyPEM = read(directory, caKeyFile), let certificatePEM = read(directory, caCertificateFile) {
            caKey = try P256.Signing.PrivateKey(pemRepresentation: keyPEM)
            caCertificate = try Certificate(pemEncoded: certificatePEM)
        } else {
            caKey = P256.Signing.PrivateKey()
            let name = try DistinguishedName { CommonName("routelet-apiserver-ca") }
            caCertificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(caKey.publicKey),
                notValidBefore: Date().addingTimeInterval(-3600), notValidAfter: Date().addingTimeInterval(10 * 365 * 86400),
                issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                },
                issuerPrivateKey: .init(caKey))
            try write(directory, caKeyFile, caKey.pemRepresentation)
            try write(directory, caCertificateFile, try caCertificate.serializeAsPEM().pemString + "\n")
        }

        let serverKey = P256.Signing.PrivateKey()
        var names: [GeneralName] = [.dnsName("localhost")]
        for host in Set(hosts + ["127.0.0.1", "::1"]) {
            if let address = ipBytes(host) {
                names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(address))))
            } else if !host.isEmpty {
                names.append(.dnsName(host))
            }
        }
        let serverCertificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(serverKey.publicKey),
            notValidBefore: Date().addingTimeInterval(-3600), notValidAfter: Date().addingTimeInterval(365 * 86400),
            issuer: caCertificate.subject, subject: try DistinguishedName { CommonName("routelet-apiserver") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: .init(caKey))
        let serverCertificatePEM = try serverCertificate.serializeAsPEM().pemString + "\n"
        try write(directory, serverCertificateFile, serverCertificatePEM)
        try write(directory, serverKeyFile, serverKey.pemRepresentation)
        return Credentials(token: token, caCertificatePEM: try caCertificate.serializeAsPEM().pemString + "\n",
                           serverCertificatePEM: serverCertificatePEM, serverKeyPEM: serverKey.pemRepresentation)
    }

    static func read(_ directory: String, _ name: String) -> String? {
        FileManager.default.contents(atPath: "\(directory)/\(name)").map { String(decoding: $0, as: UTF8.self) }
    }

    /// Writes a file readable by its owner only (0600), atomically.
    static func write(_ directory: String, _ name: String, _ text: String) throws {
        let path = "\(directory)/\(name)"
        let temporary = "\(path).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw APIServerError("cannot write \(temporary)")
        }
        guard rename(temporary, path) == 0 else { throw APIServerError("cannot rename \(temporary) to \(path): errno \(errno)") }
    }

    static func ipBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }

    /// A kubeconfig for this server: the CA inline, the bearer token.
    public func kubeconfig(server: String) -> String {
        """
        apiVersion: v1
        kind: Config
        clusters:
        - name: routelet
          cluster:
            server: \(server)
        \(server.hasPrefix("https") ? "    certificate-authority-data: \(Data(caCertificatePEM.utf8).base64EncodedString())" : "    # plain HTTP (--insecure-http): no TLS")
        users:
        - name: routelet-admin
          user:
            token: \(token)
        contexts:
        - name: routelet
          context:
            cluster: routelet
            user: routelet-admin
        current-context: routelet

        """
    }
}

/// A failure of the API server itself (not of a request).
public struct APIServerError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
