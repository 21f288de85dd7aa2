import Foundation
import JSONValue

/// The fields of a discovery.k8s.io/v1 EndpointSlice that resolve a
/// GatewayRoute's Service backend to endpoints: addresses, readiness,
/// ports. Read-only: the agent never writes EndpointSlices.
public struct EndpointSlice: Codable, Hashable, Sendable {
    public static let apiVersion = "discovery.k8s.io/v1"
    public static let kind = "EndpointSlice"
    /// The label that names the Service a slice belongs to.
    public static let serviceNameLabel = "kubernetes.io/service-name"

    /// What the slice's addresses are: `IPv4`, `IPv6` or `FQDN`. Any other
    /// text still decodes.
    public struct AddressType: OpenEnum {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let ipv4: AddressType = "IPv4"
        public static let ipv6: AddressType = "IPv6"
        public static let fqdn: AddressType = "FQDN"
        public static let allKnown: [AddressType] = [.ipv4, .ipv6, .fqdn]
    }

    /// An endpoint's state; each condition is optional, and absent means
    /// what Kubernetes says it means (see the `is…` properties).
    public struct Conditions: Codable, Hashable, Sendable {
        public var ready: Bool?
        public var serving: Bool?
        public var terminating: Bool?

        public init(ready: Bool? = nil, serving: Bool? = nil, terminating: Bool? = nil) {
            self.ready = ready
            self.serving = serving
            self.terminating = terminating
        }

        private enum CodingKeys: String, CodingKey {
            case ready, serving, terminating
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            ready = try container.decodeIfPresent(Bool.self, forKey: .ready)
            serving = try container.decodeIfPresent(Bool.self, forKey: .serving)
            terminating = try container.decodeIfPresent(Bool.self, forKey: .terminating)
        }

        /// Unset `ready` is an unknown state, which consumers interpret as ready.
        public var isReady: Bool { ready ?? true }
        /// Unset `serving` defers to `ready`.
        public var isServing: Bool { serving ?? isReady }
        /// Unset `terminating` means not terminating.
        public var isTerminating: Bool { terminating ?? false }
    }

    /// One endpoint (usually a pod): its addresses and state.
    public struct Endpoint: Codable, Hashable, Sendable {
        /// 1-100 addresses of the slice's addressType; consumers use the first.
        public var addresses: [String]
        public var conditions: Conditions?
        public var nodeName: String?
        public var zone: String?

        public init(addresses: [String], conditions: Conditions? = nil, nodeName: String? = nil, zone: String? = nil) {
            self.addresses = addresses
            self.conditions = conditions
            self.nodeName = nodeName
            self.zone = zone
        }

        private enum CodingKeys: String, CodingKey {
            case addresses, conditions, nodeName, zone
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            addresses = try container.decodeIfPresent([String].self, forKey: .addresses) ?? []
            conditions = try container.decodeIfPresent(Conditions.self, forKey: .conditions)
            nodeName = try container.decodeIfPresent(String.self, forKey: .nodeName)
            zone = try container.decodeIfPresent(String.self, forKey: .zone)
        }

        /// The conditions with Kubernetes' meaning of absent ones applied.
        public var effectiveConditions: Conditions { conditions ?? Conditions() }
    }

    /// One port of the slice's endpoints; its name is the Service port's.
    public struct Port: Codable, Hashable, Sendable {
        public var name: String?
        /// nil means every port (a Service without a selector may do that).
        public var port: Int?
        /// TCP (default), UDP or SCTP.
        public var `protocol`: String?

        public init(name: String? = nil, port: Int? = nil, protocol: String? = nil) {
            self.name = name
            self.port = port
            self.protocol = `protocol`
        }

        private enum CodingKeys: String, CodingKey {
            case name, port, `protocol`
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decodeIfPresent(String.self, forKey: .name)
            port = try container.decodeIntegerIfPresent(Int.self, forKey: .port)
            `protocol` = try container.decodeIfPresent(String.self, forKey: .protocol)
        }

        /// The protocol with its default applied.
        public var effectiveProtocol: String { `protocol` ?? "TCP" }
    }

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var addressType: AddressType
    public var endpoints: [Endpoint]
    public var ports: [Port]

    public init(metadata: ObjectMeta, addressType: AddressType, endpoints: [Endpoint] = [], ports: [Port] = []) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.addressType = addressType
        self.endpoints = endpoints
        self.ports = ports
    }

    private enum CodingKeys: String, CodingKey {
        case apiVersion, kind, metadata, addressType, endpoints, ports
    }

    /// Lenient: missing fields become empty; other fields are ignored.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion) ?? ""
        kind = try container.decodeIfPresent(String.self, forKey: .kind) ?? ""
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        addressType = try container.decodeIfPresent(AddressType.self, forKey: .addressType) ?? ""
        endpoints = try container.decodeIfPresent([Endpoint].self, forKey: .endpoints) ?? []
        ports = try container.decodeIfPresent([Port].self, forKey: .ports) ?? []
    }

    /// The Service the slice belongs to (its `kubernetes.io/service-name` label).
    public var serviceName: String? { metadata.labels?[Self.serviceNameLabel] }

    /// The port carrying a Service port's name (nil or "" for an unnamed one) and protocol.
    public func port(named name: String?, protocol proto: String = "TCP") -> Port? {
        ports.first { ($0.name ?? "") == (name ?? "") && $0.effectiveProtocol == proto }
    }

    /// Decodes an EndpointSlice from a JSON value; a value of the wrong type
    /// is an error that names the field.
    public static func decode(from json: JSONValue) throws(ResourceDecodingError) -> EndpointSlice {
        try ResourceDecoder.decode(EndpointSlice.self, from: json)
    }

    /// Decodes an EndpointSlice from JSON text.
    public static func decode(from data: Data) throws(ResourceDecodingError) -> EndpointSlice {
        try ResourceDecoder.decode(EndpointSlice.self, from: data)
    }
}
