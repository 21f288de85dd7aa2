import JSONValue

/// The OpenAPI v3 documents, one per group version, laid out as
/// kube-apiserver lays out its own: every path parameter declared on its
/// path ({namespace}, {name}), each operation with the query parameters the
/// server reads, an operationId, and x-kubernetes-action and
/// x-kubernetes-group-version-kind, from which kubectl learns that the
/// server validates fields itself (fieldValidation on a kind's patch).
extension Discovery {
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

    /// The document of one group version; nil when nothing is served there.
    func openAPI(group: String, version: String) -> JSONValue? {
        let resources = registry.resources.filter { $0.group == group && $0.version == version }
        guard !resources.isEmpty else { return nil }
        var paths = JSONObject()
        var schemas = OpenAPIResource.sharedSchemas
        for resource in resources {
            let described = OpenAPIResource(resource)
            for (path, item) in described.paths { paths[path] = item }
            for (name, schema) in described.schemas { schemas[name] = schema }
        }
        return ["openapi": "3.0.0", "info": ["title": "routelet", "version": .string(RouteletServerVersion.string)],
                "paths": .object(paths), "components": ["schemas": .object(schemas)]]
    }
}

/// The paths and schemas of one resource in its group version's document.
struct OpenAPIResource {
    let resource: ResourceType

    init(_ resource: ResourceType) { self.resource = resource }

    // MARK: Names

    /// "io.k8s.api.core.v1.Node", "dev.routelet.v1alpha1.RouteTable".
    var kindSchema: String { "\(Self.reversedDomain(resource.group)).\(resource.version).\(resource.kind)" }
    var listSchema: String { "\(Self.reversedDomain(resource.group)).\(resource.version).\(resource.listKind)" }

    static func reversedDomain(_ group: String) -> String {
        group.isEmpty ? "io.k8s.api.core" : group.split(separator: ".").reversed().joined(separator: ".")
    }

    /// kube-apiserver's operationId: "listCoordinationV1NamespacedLease",
    /// "patchRouteletDevV1alpha1RouteTableStatus".
    func operationID(_ verb: String, allNamespaces: Bool = false, status: Bool = false) -> String {
        let group = resource.group.isEmpty ? "core" : resource.group.hasSuffix(".k8s.io")
            ? String(resource.group.dropLast(".k8s.io".count)) : resource.group
        let groupName = group.split(whereSeparator: { $0 == "." || $0 == "-" }).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        let version = resource.version.prefix(1).uppercased() + resource.version.dropFirst()
        let scope = resource.namespaced && !allNamespaces ? "Namespaced" : ""
        return verb + groupName + version + scope + resource.kind + (status ? "Status" : "") + (allNamespaces ? "ForAllNamespaces" : "")
    }

    // MARK: Paths

    var collectionPath: String {
        resource.namespaced ? "\(resource.apiPrefix)/namespaces/{namespace}/\(resource.plural)" : "\(resource.apiPrefix)/\(resource.plural)"
    }

    var paths: [(String, JSONValue)] {
        let namespace: [JSONValue] = resource.namespaced ? [Self.pathParameter("namespace", "object name and auth scope, such as for teams and projects")] : []
        let name = Self.pathParameter("name", "name of the \(resource.kind)")
        let writable = !resource.readOnly

        var collection: JSONObject = ["parameters": .array(namespace), "get": list()]
        if writable { collection["post"] = create() }
        var item: JSONObject = ["parameters": .array(namespace + [name]), "get": read()]
        if writable {
            item["put"] = replace()
            item["patch"] = patch()
            item["delete"] = delete()
        }
        var result: [(String, JSONValue)] = [(collectionPath, .object(collection)), ("\(collectionPath)/{name}", .object(item))]
        if resource.hasStatus {
            var status: JSONObject = ["parameters": .array(namespace + [name]), "get": read(status: true)]
            if writable {
                status["put"] = replace(status: true)
                status["patch"] = patch(status: true)
            }
            result.append(("\(collectionPath)/{name}/status", .object(status)))
        }
        if resource.namespaced {
            result.append(("\(resource.apiPrefix)/\(resource.plural)", ["get": list(allNamespaces: true)]))
        }
        return result
    }

    // MARK: Operations

    func operation(_ action: String, _ id: String, _ description: String, parameters: [JSONValue],
                   body: JSONValue? = nil, responses: JSONObject) -> JSONValue {
        var responses = responses
        // Every failure is answered with a Status.
        responses["default"] = Self.response("a Status saying what went wrong", Self.statusSchema)
        var operation: JSONObject = [
            "description": .string(description), "operationId": .string(id),
            "x-kubernetes-action": .string(action),
            "x-kubernetes-group-version-kind": ["group": .string(resource.group), "version": .string(resource.version), "kind": .string(resource.kind)],
            "parameters": .array(parameters), "responses": .object(responses),
        ]
        if let body { operation["requestBody"] = body }
        return .object(operation)
    }

    func list(allNamespaces: Bool = false) -> JSONValue {
        operation("list", operationID("list", allNamespaces: allNamespaces), "list or watch objects of kind \(resource.kind)",
                  parameters: Self.listParameters,
                  responses: ["200": Self.response("OK", listSchema, types: ["application/json", "application/json;stream=watch"])])
    }

    func create() -> JSONValue {
        operation("post", operationID("create"), "create a \(resource.kind)", parameters: Self.writeParameters,
                  body: Self.body(kindSchema), responses: ["201": Self.response("Created", kindSchema)])
    }

    func read(status: Bool = false) -> JSONValue {
        operation("get", operationID("read", status: status), "read the \(status ? "status of the " : "")specified \(resource.kind)",
                  parameters: [], responses: ["200": Self.response("OK", kindSchema)])
    }

    func replace(status: Bool = false) -> JSONValue {
        operation("put", operationID("replace", status: status), "replace the \(status ? "status of the " : "")specified \(resource.kind)",
                  parameters: Self.writeParameters, body: Self.body(kindSchema), responses: ["200": Self.response("OK", kindSchema)])
    }

    func patch(status: Bool = false) -> JSONValue {
        // A strategic merge patch is a merge patch here, and only for
        // built-ins: CRDs refuse it, as kube-apiserver does.
        var content: JSONObject = [
            "application/json-patch+json": ["schema": ["$ref": .string("#/components/schemas/\(Self.jsonPatchSchema)")]],
            "application/merge-patch+json": ["schema": ["$ref": .string("#/components/schemas/\(Self.patchSchema)")]],
        ]
        if resource.schema == nil {
            content["application/strategic-merge-patch+json"] = ["schema": ["$ref": .string("#/components/schemas/\(Self.patchSchema)")]]
        }
        return operation("patch", operationID("patch", status: status),
                         "partially update the \(status ? "status of the " : "")specified \(resource.kind)",
                         parameters: Self.writeParameters, body: ["required": true, "content": .object(content)],
                         responses: ["200": Self.response("OK", kindSchema)])
    }

    func delete() -> JSONValue {
        var body = Self.body(Self.deleteOptionsSchema)
        body = body.setting(["required"], to: false)
        return operation("delete", operationID("delete"), "delete a \(resource.kind)", parameters: [Self.dryRun], body: body,
                         responses: ["200": Self.response("OK: the object as it was", kindSchema),
                                     "202": Self.response("Accepted: marked for deletion, gone when its finalizers are", kindSchema)])
    }

    // MARK: Parameters

    static func pathParameter(_ name: String, _ description: String) -> JSONValue {
        ["name": .string(name), "in": "path", "required": true, "description": .string(description),
         "schema": ["type": "string", "uniqueItems": true]]
    }

    static func queryParameter(_ name: String, _ type: String, _ description: String) -> JSONValue {
        ["name": .string(name), "in": "query", "description": .string(description), "schema": ["type": .string(type), "uniqueItems": true]]
    }

    /// What a list or watch reads (APIHandler+Read.swift).
    static let listParameters: [JSONValue] = [
        queryParameter("labelSelector", "string", "A selector to restrict the list of returned objects by their labels. Defaults to everything."),
        queryParameter("fieldSelector", "string",
                       "A selector to restrict the list of returned objects by their fields (metadata.name, metadata.namespace and the fields the kind supports). Defaults to everything."),
        queryParameter("watch", "boolean", "Watch for changes: a stream of ADDED, MODIFIED and DELETED events (and BOOKMARK when allowed) instead of a list."),
        queryParameter("allowWatchBookmarks", "boolean", "A watch also gets BOOKMARK events, each with the resourceVersion it has reached."),
        queryParameter("resourceVersion", "string",
                       "A watch starts after this version (410 Expired when the history no longer holds it); unset or 0: the current objects first, as ADDED. A list serves the latest state."),
        queryParameter("timeoutSeconds", "integer", "A watch ends after this many seconds (1 to 3600; unset: 30 to 60 minutes)."),
        queryParameter("limit", "integer", "The most objects in one page of a list; metadata.continue then holds the token of the next page."),
        queryParameter("continue", "string", "The token of the next page, from a previous page's metadata.continue (410 when it is too old)."),
    ]

    static let dryRun = queryParameter("dryRun", "string", "All: the request is validated and answered, nothing is stored.")

    /// What a create, replace or patch reads (APIHandler+Write.swift, +Validation.swift).
    static let writeParameters: [JSONValue] = [
        dryRun,
        queryParameter("fieldManager", "string", "Accepted and ignored: the server keeps no managed fields."),
        queryParameter("fieldValidation", "string", "What unknown or duplicate fields get: Ignore, Warn (the default: a Warning header) or Strict (400)."),
    ]

    // MARK: Bodies and responses

    static func body(_ schema: String) -> JSONValue {
        ["required": true, "content": ["application/json": ["schema": ["$ref": .string("#/components/schemas/\(schema)")]]]]
    }

    static func response(_ description: String, _ schema: String, types: [String] = ["application/json"]) -> JSONValue {
        var content = JSONObject()
        for type in types { content[type] = ["schema": ["$ref": .string("#/components/schemas/\(schema)")]] }
        return ["description": .string(description), "content": .object(content)]
    }

    // MARK: Schemas

    var schemas: [(String, JSONValue)] {
        let gvk: (String) -> JSONValue = { kind in
            [["group": .string(resource.group), "version": .string(resource.version), "kind": .string(kind)]]
        }
        var kind: JSONObject = resource.schemaJSON?.objectValue ?? ["type": "object", "x-kubernetes-preserve-unknown-fields": true]
        kind["x-kubernetes-group-version-kind"] = gvk(resource.kind)
        let list: JSONValue = [
            "description": .string("\(resource.listKind) is a list of \(resource.kind) objects."),
            "type": "object", "required": ["items"],
            "properties": [
                "apiVersion": ["type": "string"], "kind": ["type": "string"],
                "metadata": ["type": "object", "properties": ["resourceVersion": ["type": "string"], "continue": ["type": "string"]]],
                "items": ["type": "array", "items": ["$ref": .string("#/components/schemas/\(kindSchema)")]],
            ],
            "x-kubernetes-group-version-kind": gvk(resource.listKind),
        ]
        return [(kindSchema, .object(kind)), (listSchema, list)]
    }

    static let statusSchema = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
    static let deleteOptionsSchema = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
    static let patchSchema = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
    static let jsonPatchSchema = "io.k8s.apimachinery.pkg.apis.meta.v1.JSONPatch"

    /// The schemas every document refers to, whatever its kinds.
    static let sharedSchemas: JSONObject = [
        statusSchema: [
            "description": "Status is the answer to a request that failed (and to some that succeeded).",
            "type": "object",
            "properties": [
                "apiVersion": ["type": "string"], "kind": ["type": "string"], "metadata": ["type": "object"],
                "status": ["type": "string"], "message": ["type": "string"], "reason": ["type": "string"],
                "code": ["type": "integer", "format": "int32"],
                "details": ["type": "object", "x-kubernetes-preserve-unknown-fields": true],
            ],
            "x-kubernetes-group-version-kind": [["group": "", "version": "v1", "kind": "Status"]],
        ],
        deleteOptionsSchema: [
            "description": "DeleteOptions may be provided when deleting an API object: preconditions on its uid and resourceVersion.",
            "type": "object",
            "properties": [
                "apiVersion": ["type": "string"], "kind": ["type": "string"],
                "dryRun": ["type": "array", "items": ["type": "string"]],
                "preconditions": ["type": "object", "properties": ["resourceVersion": ["type": "string"], "uid": ["type": "string"]]],
            ],
        ],
        patchSchema: [
            "description": "A JSON merge patch (RFC 7386), or for built-in kinds a strategic merge patch, applied as a merge patch.",
            "type": "object",
        ],
        jsonPatchSchema: [
            "description": "A JSON patch (RFC 6902).",
            "type": "array",
            "items": [
                "type": "object", "required": ["op", "path"],
                "properties": [
                    "op": ["type": "string", "enum": ["add", "remove", "replace", "move", "copy", "test"]],
                    "path": ["type": "string"], "from": ["type": "string"], "value": [:],
                ],
            ],
        ],
    ]
}
