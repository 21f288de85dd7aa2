import Foundation
import GatewayConfig
import NIOCore
import NIOSSL

/// The certificates of an HTTPS listener, read from the snapshot directory,
/// and the TLS context that offers them: SNI picks the certificate by host
/// name (an exact name, then a `*.` wildcard, else the first).
struct TLSCertificates: Sendable {
    struct Entry: Sendable {
        var hostnames: [String]
        var chain: [NIOSSLCertificateSource]
        var key: NIOSSLPrivateKeySource
    }

    struct LoadError: Error, CustomStringConvertible {
        var listener: String
        var secret: String
        var file: String
        var underlying: Error
        var description: String { "listener \(listener): certificate \(secret): cannot read \(file): \(underlying)" }
    }

    var entries: [Entry]

    static func load(_ listener: HTTPListenerConfig, directory: URL) throws -> TLSCertificates {
        let configs = listener.certificates ?? []
        guard !configs.isEmpty else {
            throw LoadError(listener: listener.hostPort, secret: "-", file: "-", underlying: NoCertificate())
        }
        return TLSCertificates(entries: try configs.map { config in
            let certificatePath = directory.appendingPathComponent(config.certificateFile).path
            let keyPath = directory.appendingPathComponent(config.keyFile).path
            let chain: [NIOSSLCertificate]
            do {
                chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
                guard !chain.isEmpty else { throw NoCertificate() }
            } catch {
                throw LoadError(listener: listener.hostPort, secret: config.secret, file: certificatePath, underlying: error)
            }
            let key: NIOSSLPrivateKey
            do {
                key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            } catch {
                throw LoadError(listener: listener.hostPort, secret: config.secret, file: keyPath, underlying: error)
            }
            return Entry(hostnames: config.hostnames.map { $0.lowercased() }, chain: chain.map { .certificate($0) },
                         key: .privateKey(key))
        })
    }

    struct NoCertificate: Error, CustomStringConvertible {
        var description: String { "no certificate" }
    }

    /// The entry for an SNI name; nil: the default (first).
    func entry(forServerName name: String?) -> Entry? {
        guard let name = name?.lowercased() else { return nil }
        if let exact = entries.first(where: { $0.hostnames.contains(name) }) { return exact }
        return entries.first { entry in
            entry.hostnames.contains { pattern in
                pattern.hasPrefix("*.") && name.hasSuffix(pattern.dropFirst()) && name.count > pattern.count - 1
            }
        }
    }

    func makeContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: entries[0].chain,
                                                                     privateKey: entries[0].key)
        configuration.applicationProtocols = ["http/1.1"]
        if entries.count > 1 {
            let certificates = self
            configuration.sslContextCallback = { values, promise in
                guard let entry = certificates.entry(forServerName: values.serverHostname) else {
                    promise.succeed(.noChanges)
                    return
                }
                var override = NIOSSLContextConfigurationOverride()
                override.certificateChain = entry.chain
                override.privateKey = entry.key
                promise.succeed(override)
            }
        }
        return try NIOSSLContext(configuration: configuration)
    }
}
