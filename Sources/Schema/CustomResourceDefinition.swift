import JSONValue
import YAML

/// An `apiextensions.k8s.io/v1` CustomResourceDefinition as the embedded API
/// server needs it: names for discovery, versions with their schemas, the
/// status subresource and the printer columns for `kubectl get`.
public struct CustomResourceDefinition: Sendable {
    /// Whether objects live in a namespace.
    public enum Scope: String, Hashable, Sendable {
        case cluster = "Cluster"
        case namespaced = "Namespaced"
    }

    /// How the resource is named in URLs, in kubectl and in lists.
    public struct Names: Hashable, Sendable {
        public var plural: String
        public var singular: String
        public var kind: String
        public var listKind: String
        public var shortNames: [String]
        public var categories: [String]
    }

    /// One column of `kubectl get`, filled from a JSONPath into the object.
    public struct PrinterColumn: Hashable, Sendable {
        public var name: String
        /// `integer`, `number`, `string`, `boolean` or `date`.
        public var type: String
        public var jsonPath: String
        public var description: String?
        /// 0 for the default view; higher only with `-o wide`.
        public var priority: Int
        public var format: String?
    }

    /// One served version of the resource.
    public struct Version: Sendable {
        public var name: String
        public var served: Bool
        public var storage: Bool
        public var deprecated: Bool
        public var deprecationWarning: String?
        /// `schema.openAPIV3Schema`.
        public var schema: StructuralSchema
        /// The schema as written, for serving OpenAPI documents.
        public var schemaJSON: JSONValue
        /// Whether `subresources.status` is present, so that `/status` is served
        /// and writes to the main resource ignore `status`.
        public var hasStatusSubresource: Bool
        public var additionalPrinterColumns: [PrinterColumn]
    }

    /// `metadata.name`, which must be `<plural>.<group>`.
    public var name: String
    public var group: String
    public var names: Names
    public var scope: Scope
    public var versions: [Version]
    /// The whole document as read, e.g. to serve the CRD object itself.
    public var document: JSONValue

    /// The version objects are stored in (exactly one has `storage: true`).
    public var storageVersion: Version {
        // The initializer checks that there is exactly one.
        versions.first { $0.storage }!
    }

    /// The version named `name`, if defined.
    public func version(_ name: String) -> Version? {
        versions.first { $0.name == name }
    }

    /// Reads a CRD from YAML or JSON text holding exactly one document.
    public init(yaml text: String) throws(SchemaError) {
        let documents: [YAMLDocument]
        do {
            documents = try YAML.parseDocuments(text)
        } catch {
            throw SchemaError(code: .unreadable, path: "", message: "\(error)")
        }
        guard documents.count == 1 else {
            throw SchemaError(
                code: .invalidDocument, path: "", message: "expected one CustomResourceDefinition document, found \(documents.count)")
        }
        try self.init(documents[0].value)
    }

    /// Reads a CRD from its JSON value; throws for a document kube-apiserver
    /// would refuse or that uses schema features this module lacks.
    public init(_ json: JSONValue) throws(SchemaError) {
        document = json
        let reader = try FieldReader(json, path: "")
        let apiVersion = try reader.string("apiVersion")
        let kind = try reader.string("kind")
        guard apiVersion == "apiextensions.k8s.io/v1", kind == "CustomResourceDefinition" else {
            throw SchemaError(
                code: .invalidDocument, path: "",
                message: "expected apiextensions.k8s.io/v1 CustomResourceDefinition, got \(apiVersion) \(kind)")
        }
        name = try reader.object("metadata").string("name")
        let spec = try reader.object("spec")
        group = try spec.string("group")

        let namesReader = try spec.object("names")
        let kindName = try namesReader.string("kind")
        names = Names(
            plural: try namesReader.string("plural"),
            singular: try namesReader.optionalString("singular") ?? kindName.lowercased(),
            kind: kindName,
            listKind: try namesReader.optionalString("listKind") ?? kindName + "List",
            shortNames: try namesReader.strings("shortNames"),
            categories: try namesReader.strings("categories"))
        guard name == "\(names.plural).\(group)" else {
            throw SchemaError(code: .invalidDocument, path: "metadata.name", message: "must be \"\(names.plural).\(group)\", not \(goQuoted(name))")
        }

        let scopeText = try spec.string("scope")
        guard let scope = Scope(rawValue: scopeText) else {
            throw SchemaError(code: .invalidDocument, path: "spec.scope", message: "must be Cluster or Namespaced, not \(goQuoted(scopeText))")
        }
        self.scope = scope

        var versions: [Version] = []
        for versionReader in try spec.objects("versions") {
            let version = try Self.readVersion(versionReader)
            if versions.contains(where: { $0.name == version.name }) {
                throw SchemaError(code: .invalidDocument, path: "\(versionReader.path).name", message: "version \(goQuoted(version.name)) is defined twice")
            }
            versions.append(version)
        }
        guard !versions.isEmpty else {
            throw SchemaError(code: .invalidDocument, path: "spec.versions", message: "at least one version is required")
        }
        guard versions.filter(\.storage).count == 1 else {
            throw SchemaError(code: .invalidDocument, path: "spec.versions", message: "exactly one version must have storage: true")
        }
        self.versions = versions
    }

    private static func readVersion(_ reader: FieldReader) throws(SchemaError) -> Version {
        let schemaReader = try reader.object("schema")
        let schemaJSON = try schemaReader.value("openAPIV3Schema")
        let schema: StructuralSchema
        do {
            schema = try StructuralSchema(schemaJSON)
        } catch {
            let base = "\(schemaReader.path).openAPIV3Schema"
            throw SchemaError(code: error.code, path: error.path.isEmpty ? base : "\(base).\(error.path)", message: error.message)
        }
        guard schema.type == .object else {
            throw SchemaError(code: .notStructural, path: "\(schemaReader.path).openAPIV3Schema.type", message: "the top of a schema must be type object")
        }

        var hasStatus = false
        if let subresources = try reader.optionalObject("subresources") {
            hasStatus = try subresources.optionalObject("status") != nil
        }

        var columns: [PrinterColumn] = []
        for column in try reader.objects("additionalPrinterColumns") {
            let type = try column.string("type")
            guard ["integer", "number", "string", "boolean", "date"].contains(type) else {
                throw SchemaError(code: .invalidDocument, path: "\(column.path).type", message: "\(goQuoted(type)) is not a column type")
            }
            let jsonPath = try column.string("jsonPath")
            guard jsonPath.hasPrefix(".") else {
                throw SchemaError(code: .invalidDocument, path: "\(column.path).jsonPath", message: "must start with \".\"")
            }
            let priority = try column.optionalInteger("priority") ?? 0
            guard priority >= 0 else {
                throw SchemaError(code: .invalidDocument, path: "\(column.path).priority", message: "must not be negative")
            }
            columns.append(PrinterColumn(
                name: try column.string("name"), type: type, jsonPath: jsonPath,
                description: try column.optionalString("description"), priority: priority, format: try column.optionalString("format")))
        }

        return Version(
            name: try reader.string("name"), served: try reader.bool("served"), storage: try reader.bool("storage"),
            deprecated: try reader.optionalBool("deprecated") ?? false, deprecationWarning: try reader.optionalString("deprecationWarning"),
            schema: schema, schemaJSON: schemaJSON, hasStatusSubresource: hasStatus, additionalPrinterColumns: columns)
    }
}

/// Reads typed fields of one object of a CRD document, with paths for errors.
private struct FieldReader {
    let object: JSONObject
    let path: String

    init(_ value: JSONValue, path: String) throws(SchemaError) {
        guard case .object(let object) = value else {
            throw SchemaError(code: .invalidDocument, path: path, message: "must be an object, not \(jsonTypeName(value))")
        }
        self.object = object
        self.path = path
    }

    private func fieldPath(_ key: String) -> String { joined(path, key) }

    private func fail(_ key: String, _ message: String) -> SchemaError {
        SchemaError(code: .invalidDocument, path: fieldPath(key), message: message)
    }

    func value(_ key: String) throws(SchemaError) -> JSONValue {
        guard let value = object[key], value != .null else { throw fail(key, "is required") }
        return value
    }

    func string(_ key: String) throws(SchemaError) -> String {
        guard let text = try optionalString(key) else { throw fail(key, "is required") }
        guard !text.isEmpty else { throw fail(key, "must not be empty") }
        return text
    }

    func optionalString(_ key: String) throws(SchemaError) -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        case let other?: throw fail(key, "must be a string, not \(jsonTypeName(other))")
        }
    }

    func bool(_ key: String) throws(SchemaError) -> Bool {
        guard let flag = try optionalBool(key) else { throw fail(key, "is required") }
        return flag
    }

    func optionalBool(_ key: String) throws(SchemaError) -> Bool? {
        switch object[key] {
        case nil, .null?: return nil
        case .bool(let flag)?: return flag
        case let other?: throw fail(key, "must be a boolean, not \(jsonTypeName(other))")
        }
    }

    func optionalInteger(_ key: String) throws(SchemaError) -> Int? {
        switch object[key] {
        case nil, .null?: return nil
        case let value?:
            guard let number = value.integerValue, let result = Int(exactly: number) else {
                throw fail(key, "must be an integer, not \(jsonTypeName(value))")
            }
            return result
        }
    }

    func strings(_ key: String) throws(SchemaError) -> [String] {
        switch object[key] {
        case nil, .null?: return []
        case .array(let elements)?:
            var result: [String] = []
            for (index, element) in elements.enumerated() {
                guard case .string(let text) = element else {
                    throw SchemaError(code: .invalidDocument, path: "\(fieldPath(key))[\(index)]", message: "must be a string")
                }
                result.append(text)
            }
            return result
        case let other?: throw fail(key, "must be a list of strings, not \(jsonTypeName(other))")
        }
    }

    func object(_ key: String) throws(SchemaError) -> FieldReader {
        try FieldReader(try value(key), path: fieldPath(key))
    }

    func optionalObject(_ key: String) throws(SchemaError) -> FieldReader? {
        switch object[key] {
        case nil, .null?: return nil
        case let value?: return try FieldReader(value, path: fieldPath(key))
        }
    }

    func objects(_ key: String) throws(SchemaError) -> [FieldReader] {
        switch object[key] {
        case nil, .null?: return []
        case .array(let elements)?:
            var result: [FieldReader] = []
            for (index, element) in elements.enumerated() {
                result.append(try FieldReader(element, path: "\(fieldPath(key))[\(index)]"))
            }
            return result
        case let other?: throw fail(key, "must be a list, not \(jsonTypeName(other))")
        }
    }
}
