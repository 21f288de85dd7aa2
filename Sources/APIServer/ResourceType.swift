import JSONValue
import Schema

/// One kind of object the server serves: where it lives in the API, how it
/// is named, what it validates against and how `kubectl get` prints it.
public struct ResourceType: Sendable {
    public var group: String            // "" for the core group
    public var version: String
    public var kind: String
    public var listKind: String
    public var plural: String
    public var singular: String
    public var shortNames: [String]
    public var categories: [String]
    public var namespaced: Bool
    public var hasStatus: Bool
    /// Read-only resources answer 405 to writes.
    public var readOnly = false
    /// The CRD's structural schema; nil for built-ins (accepted as sent).
    public var schema: StructuralSchema?
    /// The same schema as JSON, for the OpenAPI documents.
    public var schemaJSON: JSONValue?
    public var printerColumns: [PrinterColumn]
    /// routelet's own checks beyond the schema (RouteTable.validate()).
    public var semanticCheck: (@Sendable (JSONValue) -> [StatusError.Cause])?

    public struct PrinterColumn: Sendable {
        public var name: String
        public var type: String
        public var jsonPath: String
        public var description: String
        public var priority: Int
        public var format: String
    }

    /// "routetables.routelet.dev", or "namespaces" in the core group.
    public var qualifiedPlural: String { group.isEmpty ? plural : "\(plural).\(group)" }
    public var groupVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// The store's key space: "routelet.dev/routetables", "core/namespaces".
    public var storageKey: String { "\(group.isEmpty ? "core" : group)/\(plural)" }

    /// The path prefix of this resource's group version: /api/v1 or /apis/g/v.
    public var apiPrefix: String { group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)" }

    public static let verbs: [JSONValue] = ["create", "delete", "get", "list", "patch", "update", "watch"]

    /// The resource's entry in an APIResourceList.
    func discoveryEntries() -> [JSONValue] {
        var main: JSONObject = [
            "name": .string(plural), "singularName": .string(singular), "namespaced": .bool(namespaced),
            "kind": .string(kind), "verbs": .array(readOnly ? ["get", "list", "watch"] : Self.verbs),
        ]
        if !shortNames.isEmpty { main["shortNames"] = .array(shortNames.map { .string($0) }) }
        if !categories.isEmpty { main["categories"] = .array(categories.map { .string($0) }) }
        var entries: [JSONValue] = [.object(main)]
        if hasStatus {
            entries.append(.object(["name": .string("\(plural)/status"), "singularName": "", "namespaced": .bool(namespaced),
                                    "kind": .string(kind), "verbs": ["get", "patch", "update"]]))
        }
        return entries
    }
}

extension ResourceType {
    /// A built-in kind the agent or kubectl needs, served without a schema.
    static func builtin(_ group: String, _ version: String, _ kind: String, _ plural: String, namespaced: Bool,
                        status: Bool = false, shortNames: [String] = [], readOnly: Bool = false,
                        columns: [PrinterColumn] = []) -> ResourceType {
        ResourceType(group: group, version: version, kind: kind, listKind: "\(kind)List", plural: plural,
                     singular: kind.lowercased(), shortNames: shortNames, categories: [], namespaced: namespaced,
                     hasStatus: status, readOnly: readOnly, schema: nil, schemaJSON: nil,
                     printerColumns: columns + [PrinterColumn(name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp",
                                                              description: "", priority: 0, format: "")],
                     semanticCheck: nil)
    }

    /// The built-ins: what the agent reads and writes, and what kubectl expects.
    public static let builtins: [ResourceType] = [
        .builtin("", "v1", "Namespace", "namespaces", namespaced: false, status: true, shortNames: ["ns"],
                 columns: [PrinterColumn(name: "Status", type: "string", jsonPath: ".status.phase", description: "", priority: 0, format: "")]),
        .builtin("", "v1", "Node", "nodes", namespaced: false, status: true, shortNames: ["no"]),
        .builtin("", "v1", "Event", "events", namespaced: true, shortNames: ["ev"],
                 columns: [PrinterColumn(name: "Type", type: "string", jsonPath: ".type", description: "", priority: 0, format: ""),
                           PrinterColumn(name: "Reason", type: "string", jsonPath: ".reason", description: "", priority: 0, format: ""),
                           PrinterColumn(name: "Object", type: "string", jsonPath: ".involvedObject.name", description: "", priority: 0, format: ""),
                           PrinterColumn(name: "Message", type: "string", jsonPath: ".message", description: "", priority: 0, format: "")]),
        .builtin("", "v1", "Service", "services", namespaced: true, status: true, shortNames: ["svc"]),
        .builtin("", "v1", "Secret", "secrets", namespaced: true,
                 columns: [PrinterColumn(name: "Type", type: "string", jsonPath: ".type", description: "", priority: 0, format: "")]),
        .builtin("coordination.k8s.io", "v1", "Lease", "leases", namespaced: true,
                 columns: [PrinterColumn(name: "Holder", type: "string", jsonPath: ".spec.holderIdentity", description: "", priority: 0, format: "")]),
        .builtin("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", namespaced: true),
        .builtin("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", namespaced: false,
                 status: true, shortNames: ["crd", "crds"], readOnly: true),
    ]
}
