import JSONValue

/// The discovery documents kubectl reads before anything else (legacy,
/// non-aggregated discovery: kubectl falls back to it), and the OpenAPI v3
/// documents it uses to learn that the server validates fields itself.
struct Discovery {
    let registry: Registry
    let serverAddress: String

    static let kubernetesVersion: JSONValue = [
        "major": "1", "minor": "32", "gitVersion": "v1.32.0+routelet", "gitCommit": "", "gitTreeState": "clean",
        "buildDate": "", "goVersion": "", "compiler": "swift", "platform": "linux/amd64",
    ]

    var coreVersions: JSONValue {
        ["kind": "APIVersions", "versions": ["v1"],
         "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string(serverAddress)]]]
    }

    func groupEntry(_ group: String, _ versions: [String]) -> JSONValue {
        let entries: [JSONValue] = versions.map { ["groupVersion": .string("\(group)/\($0)"), "version": .string($0)] }
        return ["name": .string(group), "versions": .array(entries), "preferredVersion": entries[0]]
    }

    var groupList: JSONValue {
        ["kind": "APIGroupList", "apiVersion": "v1",
         "groups": .array(registry.groups.filter { !$0.group.isEmpty }.map { groupEntry($0.group, $0.versions) })]
    }

    func group(_ name: String) -> JSONValue? {
        guard let entry = registry.groups.first(where: { $0.group == name && !name.isEmpty }) else { return nil }
        guard case .object(var object) = groupEntry(entry.group, entry.versions) else { return nil }
        object["kind"] = "APIGroup"
        object["apiVersion"] = "v1"
        return .object(object)
    }

    func resourceList(group: String, version: String) -> JSONValue? {
        let resources = registry.resources.filter { $0.group == group && $0.version == version }
        guard !resources.isEmpty else { return nil }
        return ["kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"),
                "resources": .array(resources.flatMap { $0.discoveryEntries() })]
    }

    // MARK: OpenAPI v3

    var openAPIRoot: JSONValue {
        var paths = JSONObject()
        for (group, versions) in registry.groups {
            for version in versions {
                let path = group.isEmpty ? "api/\(version)" : "apis/\(group)/\(version)"
                paths[path] = ["serverRelativeURL": .string("/openapi/v3/\(path)?hash=\(RouteletServerVersion.string)")]
            }
        }
        return ["paths": .object(paths)]
    }

    /// A minimal OpenAPI v3 document for one group version: a schema per
    /// kind, and per resource the operations with their
    /// x-kubernetes-group-version-kind and the fieldValidation parameter,
    /// which is how kubectl learns that this server validates fields.
    func openAPI(group: String, version: String) -> JSONValue? {
        let resources = registry.resources.filter { $0.group == group && $0.version == version }
        guard !resources.isEmpty else { return nil }
        var paths = JSONObject()
        var schemas = JSONObject()
        for resource in resources {
            let gvk: JSONValue = [["group": .string(resource.group), "version": .string(resource.version), "kind": .string(resource.kind)]]
            let schemaName = "\(reversedDomain(resource.group)).\(resource.version).\(resource.kind)"
            var schema: JSONObject = resource.schemaJSON?.objectValue ?? ["type": "object", "x-kubernetes-preserve-unknown-fields": true]
            schema["x-kubernetes-group-version-kind"] = gvk
            schemas[schemaName] = .object(schema)
            let body: JSONValue = ["content": ["application/json": ["schema": ["$ref": .string("#/components/schemas/\(schemaName)")]]]]
            let parameters: JSONValue = [
                ["name": "fieldValidation", "in": "query", "schema": ["type": "string", "uniqueItems": true]],
                ["name": "dryRun", "in": "query", "schema": ["type": "string", "uniqueItems": true]],
                ["name": "fieldManager", "in": "query", "schema": ["type": "string", "uniqueItems": true]],
            ]
            func operation(_ action: String) -> JSONValue {
                ["x-kubernetes-action": .string(action), "x-kubernetes-group-version-kind": gvk[0]!,
                 "parameters": parameters, "requestBody": body, "responses": ["200": body]]
            }
            let collection = resource.namespaced ? "\(resource.apiPrefix)/namespaces/{namespace}/\(resource.plural)" : "\(resource.apiPrefix)/\(resource.plural)"
            paths[collection] = ["get": operation("list"), "post": operation("post")]
            paths["\(collection)/{name}"] = ["get": operation("get"), "put": operation("put"), "patch": operation("patch"), "delete": operation("delete")]
            if resource.hasStatus {
                paths["\(collection)/{name}/status"] = ["get": operation("get"), "put": operation("put"), "patch": operation("patch")]
            }
        }
        return ["openapi": "3.0.0", "info": ["title": "routelet", "version": .string(version)],
                "paths": .object(paths), "components": ["schemas": .object(schemas)]]
    }

    func reversedDomain(_ group: String) -> String {
        group.isEmpty ? "io.k8s.api.core" : group.split(separator: ".").reversed().joined(separator: ".")
    }
}

/// The routelet release this server is part of.
public enum RouteletServerVersion {
    public static let string = "0.1.0"
}
