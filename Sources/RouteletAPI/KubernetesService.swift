import Foundation
import JSONValue

/// The fields of a core/v1 Service that a GatewayRoute backend needs (its
/// ports, to map `service.port` to an EndpointSlice port). Read-only: the
/// agent never writes Services. Named so, not `Service`, because
/// swift-service-lifecycle's `Service` protocol is in scope beside it.
public struct KubernetesService: Codable, Hashable, Sendable {
    public static let apiVersion = "v1"
    public static let kind = "Service"

    /// One entry of `spec.ports`.
    public struct Port: Codable, Hashable, Sendable {
        /// Required when the Service has more than one port; EndpointSlice
        /// ports carry the same name.
        public var name: String?
        public var port: Int
        /// The endpoints' port: a number or a container port's name; default `port`.
        public var targetPort: IntOrString?
        /// TCP (default), UDP or SCTP.
        public var `protocol`: String?

        public init(name: String? = nil, port: Int, targetPort: IntOrString? = nil, protocol: String? = nil) {
            self.name = name
            self.port = port
            self.targetPort = targetPort
            self.protocol = `protocol`
        }

        private enum CodingKeys: String, CodingKey {
            case name, port, targetPort, `protocol`
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decodeIfPresent(String.self, forKey: .name)
            port = try container.decodeIntegerIfPresent(Int.self, forKey: .port) ?? 0
            targetPort = try container.decodeIfPresent(IntOrString.self, forKey: .targetPort)
            `protocol` = try container.decodeIfPresent(String.self, forKey: .protocol)
        }

        /// The protocol with its default applied.
        public var effectiveProtocol: String { `protocol` ?? "TCP" }
    }

    /// The parts of `spec` routelet reads.
    public struct Spec: Codable, Hashable, Sendable {
        /// "None" for a headless Service; nil before the API server assigns one.
        public var clusterIP: String?
        public var ports: [Port]

        public init(clusterIP: String? = nil, ports: [Port] = []) {
            self.clusterIP = clusterIP
            self.ports = ports
        }

        private enum CodingKeys: String, CodingKey {
            case clusterIP, ports
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            clusterIP = try container.decodeIfPresent(String.self, forKey: .clusterIP)
            ports = try container.decodeIfPresent([Port].self, forKey: .ports) ?? []
        }
    }

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: Spec

    public init(metadata: ObjectMeta, spec: Spec) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
    }

    private enum CodingKeys: String, CodingKey {
        case apiVersion, kind, metadata, spec
    }

    /// Lenient: missing fields become empty; other fields are ignored.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion) ?? ""
        kind = try container.decodeIfPresent(String.self, forKey: .kind) ?? ""
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try container.decodeIfPresent(Spec.self, forKey: .spec) ?? Spec()
    }

    /// The port a backend's `service.port` names, by number (and protocol).
    public func port(_ number: Int, protocol proto: String = "TCP") -> Port? {
        spec.ports.first { $0.port == number && $0.effectiveProtocol == proto }
    }

    /// Decodes a Service from a JSON value; a value of the wrong type is an
    /// error that names the field.
    public static func decode(from json: JSONValue) throws(ResourceDecodingError) -> KubernetesService {
        try ResourceDecoder.decode(KubernetesService.self, from: json)
    }

    /// Decodes a Service from JSON text.
    public static func decode(from data: Data) throws(ResourceDecodingError) -> KubernetesService {
        try ResourceDecoder.decode(KubernetesService.self, from: data)
    }
}
