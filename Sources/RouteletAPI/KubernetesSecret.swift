import Foundation
import JSONValue

/// The fields of a core/v1 Secret of type `kubernetes.io/tls` that an HTTPS
/// listener needs: its certificate chain and key. Read-only: the agent
/// watches only Secrets of that type (a field selector) and never writes one.
public struct KubernetesSecret: Codable, Hashable, Sendable {
    public static let apiVersion = "v1"
    public static let kind = "Secret"
    /// The type whose Secrets the agent reads.
    public static let tlsType = "kubernetes.io/tls"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var type: String?
    /// Base64 values by key (`tls.crt`, `tls.key`).
    public var data: [String: String]?
    /// Plain-text values by key, merged into `data` by an API server; read
    /// too, so a manifest may carry the PEM as written.
    public var stringData: [String: String]?

    public init(metadata: ObjectMeta, type: String? = Self.tlsType, data: [String: String]? = nil) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.type = type
        self.data = data
    }

    private enum CodingKeys: String, CodingKey {
        case apiVersion, kind, metadata, type, data, stringData
    }

    /// Lenient: missing fields become empty; other fields are ignored.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion) ?? ""
        kind = try container.decodeIfPresent(String.self, forKey: .kind) ?? ""
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        type = try container.decodeIfPresent(String.self, forKey: .type)
        data = try container.decodeIfPresent([String: String].self, forKey: .data)
        stringData = try container.decodeIfPresent([String: String].self, forKey: .stringData)
    }

    /// A certificate chain and its private key, PEM.
    public struct TLSKeyPair: Hashable, Sendable {
        public var certificate: Data
        public var key: Data
    }

    /// The Secret's `tls.crt` and `tls.key`, or why it has none usable.
    public func tlsKeyPair() -> Result<TLSKeyPair, TLSSecretProblem> {
        let name = "\(metadata.namespace ?? "default")/\(metadata.name ?? "")"
        guard (type ?? "") == Self.tlsType else {
            return .failure(TLSSecretProblem(message: "Secret \(name) has type \(type ?? "Opaque"), not \(Self.tlsType)"))
        }
        func value(_ key: String) -> Result<Data, TLSSecretProblem> {
            if let text = stringData?[key] { return .success(Data(text.utf8)) }
            guard let encoded = data?[key] else { return .failure(TLSSecretProblem(message: "Secret \(name) has no \(key)")) }
            guard let decoded = Data(base64Encoded: encoded) else {
                return .failure(TLSSecretProblem(message: "Secret \(name): \(key) is not base64"))
            }
            return .success(decoded)
        }
        return value("tls.crt").flatMap { certificate in
            value("tls.key").flatMap { key in
                guard certificate.contains(pem: "CERTIFICATE") else {
                    return .failure(TLSSecretProblem(message: "Secret \(name): tls.crt holds no PEM certificate"))
                }
                guard key.contains(pem: "PRIVATE KEY") else {
                    return .failure(TLSSecretProblem(message: "Secret \(name): tls.key holds no PEM private key"))
                }
                return .success(TLSKeyPair(certificate: certificate, key: key))
            }
        }
    }

    public static func decode(from json: JSONValue) throws(ResourceDecodingError) -> KubernetesSecret {
        try ResourceDecoder.decode(KubernetesSecret.self, from: json)
    }
}

/// Why a Secret cannot serve as an HTTPS listener's certificate.
public struct TLSSecretProblem: Error, Hashable, Sendable {
    public var message: String
}

extension Data {
    /// Whether the bytes hold a PEM block whose label ends with `label`
    /// ("CERTIFICATE"; "PRIVATE KEY" also matches "RSA PRIVATE KEY", "EC PRIVATE KEY").
    func contains(pem label: String) -> Bool {
        let text = String(decoding: self, as: UTF8.self)
        return text.split(separator: "\n").contains { line in
            line.hasPrefix("-----BEGIN ") && line.trimmingCharacters(in: .whitespaces).hasSuffix("\(label)-----")
        }
    }
}
