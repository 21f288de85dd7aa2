import Foundation
import JSONValue

/// A structural OpenAPI v3 schema, the subset CustomResourceDefinitions use,
/// read once and then used to validate, list unknown fields of, and prune
/// JSON values the way kube-apiserver does for custom resources.
public struct StructuralSchema: Sendable {
    /// The JSON type a node requires.
    public enum ValueType: String, Hashable, Sendable, CaseIterable {
        case object, array, string, integer, number, boolean
    }

    /// A numeric bound, kept exact for integers (`maximum: 4294967295`).
    public enum Number: Hashable, Sendable, CustomStringConvertible {
        case integer(Int64)
        case double(Double)

        public var doubleValue: Double {
            switch self {
            case .integer(let value): Double(value)
            case .double(let value): value
            }
        }

        public var description: String {
            switch self {
            case .integer(let value): String(value)
            case .double(let value): formatNumber(value)
            }
        }
    }

    /// What an object may hold besides its `properties`.
    public indirect enum AdditionalProperties: Sendable {
        /// `additionalProperties: true` keeps any member; `false` is the default.
        case allowed(Bool)
        /// Every member is a map entry with this schema.
        case schema(StructuralSchema)
    }

    /// `x-kubernetes-list-type`.
    public enum ListType: String, Hashable, Sendable {
        case atomic, set, map
    }

    /// How deep a schema, and a value checked against one, may nest. Deeper
    /// input is refused with an error rather than walked, so that nothing a
    /// client sends can exhaust the stack.
    public static let maxDepth = 100

    public let type: ValueType?
    public let format: String?
    public let title: String?
    public let description: String?
    public let nullable: Bool
    /// Declared members, by name; ``propertyNames`` has their written order.
    public let properties: [String: StructuralSchema]
    public let propertyNames: [String]
    public let required: [String]
    public let additionalProperties: AdditionalProperties?
    /// The allowed values (`enum`).
    public let enumValues: [JSONValue]?
    public let maxLength: Int?
    public let minLength: Int?
    public let maxItems: Int?
    public let minItems: Int?
    public let maxProperties: Int?
    public let minProperties: Int?
    public let minimum: Number?
    public let maximum: Number?
    public let exclusiveMinimum: Bool
    public let exclusiveMaximum: Bool
    public let multipleOf: Number?
    public let pattern: String?
    /// `default`; kept, not applied.
    public let defaultValue: JSONValue?
    /// `x-kubernetes-preserve-unknown-fields`.
    public let preservesUnknownFields: Bool
    /// `x-kubernetes-int-or-string`: an integer or a string.
    public let isIntOrString: Bool
    /// `x-kubernetes-embedded-resource`: an object with its own apiVersion, kind and metadata.
    public let isEmbeddedResource: Bool
    public let listType: ListType?
    public let listMapKeys: [String]
    /// `x-kubernetes-map-type` (`granular` or `atomic`); kept for merging, not for validation.
    public let mapType: String?
    /// `x-kubernetes-validations`; kept, not evaluated.
    public let validations: [ValidationRule]

    // One element at most; an array because a struct cannot hold an
    // optional of itself directly.
    private let itemStorage: [StructuralSchema]
    let compiledPattern: NSRegularExpression?

    /// The schema of array elements.
    public var items: StructuralSchema? { itemStorage.first }

    /// Reads a schema such as a CRD version's `schema.openAPIV3Schema`.
    /// Throws for keywords it does not implement and for schemas that are
    /// not structural, so that nothing is silently left unchecked.
    public init(_ json: JSONValue) throws(SchemaError) {
        try self.init(json, path: "", depth: 0)
    }

    init(_ json: JSONValue, path: String, depth: Int) throws(SchemaError) {
        guard depth <= Self.maxDepth else {
            throw SchemaError(code: .tooDeep, path: path, message: "the schema nests deeper than \(Self.maxDepth) levels")
        }
        guard case .object(let node) = json else {
            throw SchemaError(code: .invalidKeyword, path: path, message: "a schema must be an object, not \(jsonTypeName(json))")
        }
        let reader = KeywordReader(node: node, path: path)
        for key in node.keys where !Self.knownKeywords.contains(key) {
            throw SchemaError(code: .unsupportedKeyword, path: reader.path(key), message: "the keyword \"\(key)\" is not supported")
        }

        if let name = try reader.string("type") {
            guard let type = ValueType(rawValue: name) else {
                throw SchemaError(
                    code: .invalidKeyword, path: reader.path("type"),
                    message: "\(goQuoted(name)) is not a type (expected one of \(ValueType.allCases.map { goQuoted($0.rawValue) }.joined(separator: ", ")))")
            }
            self.type = type
        } else {
            type = nil
        }
        format = try reader.string("format")
        title = try reader.string("title")
        description = try reader.string("description")
        nullable = try reader.bool("nullable") ?? false
        preservesUnknownFields = try reader.bool("x-kubernetes-preserve-unknown-fields") ?? false
        isIntOrString = try reader.bool("x-kubernetes-int-or-string") ?? false
        isEmbeddedResource = try reader.bool("x-kubernetes-embedded-resource") ?? false
        maxLength = try reader.count("maxLength")
        minLength = try reader.count("minLength")
        maxItems = try reader.count("maxItems")
        minItems = try reader.count("minItems")
        maxProperties = try reader.count("maxProperties")
        minProperties = try reader.count("minProperties")
        minimum = try reader.number("minimum")
        maximum = try reader.number("maximum")
        exclusiveMinimum = try reader.bool("exclusiveMinimum") ?? false
        exclusiveMaximum = try reader.bool("exclusiveMaximum") ?? false
        multipleOf = try reader.number("multipleOf")
        if let multipleOf, multipleOf.doubleValue <= 0 {
            throw SchemaError(code: .invalidKeyword, path: reader.path("multipleOf"), message: "must be greater than 0")
        }
        defaultValue = node["default"]
        mapType = try reader.string("x-kubernetes-map-type")
        required = try reader.strings("required") ?? []
        listMapKeys = try reader.strings("x-kubernetes-list-map-keys") ?? []
        if let text = try reader.string("x-kubernetes-list-type") {
            guard let listType = ListType(rawValue: text) else {
                throw SchemaError(
                    code: .invalidKeyword, path: reader.path("x-kubernetes-list-type"),
                    message: "\(goQuoted(text)) is not a list type (expected \"atomic\", \"set\" or \"map\")")
            }
            self.listType = listType
        } else {
            listType = nil
        }
        if let values = node["enum"] {
            guard case .array(let values) = values else {
                throw SchemaError(code: .invalidKeyword, path: reader.path("enum"), message: "must be a list of values")
            }
            enumValues = values
        } else {
            enumValues = nil
        }

        pattern = try reader.string("pattern")
        if let pattern {
            do {
                compiledPattern = try NSRegularExpression(pattern: pattern)
            } catch {
                throw SchemaError(code: .invalidPattern, path: reader.path("pattern"), message: "\(goQuoted(pattern)) is not a valid regular expression")
            }
        } else {
            compiledPattern = nil
        }

        var properties: [String: StructuralSchema] = [:]
        var propertyNames: [String] = []
        if let members = node["properties"] {
            guard case .object(let members) = members else {
                throw SchemaError(code: .invalidKeyword, path: reader.path("properties"), message: "must be an object of schemas")
            }
            for (name, member) in members {
                properties[name] = try StructuralSchema(member, path: reader.path("properties") + "." + name, depth: depth + 1)
                propertyNames.append(name)
            }
        }
        self.properties = properties
        self.propertyNames = propertyNames

        switch node["additionalProperties"] {
        case nil:
            additionalProperties = nil
        case .bool(let allowed)?:
            additionalProperties = .allowed(allowed)
        case let schema?:
            additionalProperties = .schema(try StructuralSchema(schema, path: reader.path("additionalProperties"), depth: depth + 1))
        }

        if let items = node["items"] {
            if case .array = items {
                throw SchemaError(code: .notStructural, path: reader.path("items"), message: "must be one schema; tuple schemas are not structural")
            }
            itemStorage = [try StructuralSchema(items, path: reader.path("items"), depth: depth + 1)]
        } else {
            itemStorage = []
        }

        if let validations = node["x-kubernetes-validations"] {
            self.validations = try Self.readValidations(validations, path: reader.path("x-kubernetes-validations"))
        } else {
            validations = []
        }

        try checkStructural(path: path)
    }

    /// Every keyword the parser reads; anything else is refused.
    static let knownKeywords: Set<String> = [
        "type", "format", "title", "description", "nullable", "properties", "required", "items", "additionalProperties",
        "enum", "maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "pattern", "default", "example", "externalDocs",
        "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string", "x-kubernetes-embedded-resource",
        "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "x-kubernetes-validations",
    ]

    private static func readValidations(_ json: JSONValue, path: String) throws(SchemaError) -> [ValidationRule] {
        guard case .array(let entries) = json else {
            throw SchemaError(code: .invalidKeyword, path: path, message: "must be a list of rules")
        }
        var rules: [ValidationRule] = []
        for (index, entry) in entries.enumerated() {
            guard case .object(let object) = entry else {
                throw SchemaError(code: .invalidKeyword, path: "\(path)[\(index)]", message: "must be an object with a \"rule\"")
            }
            let reader = KeywordReader(node: object, path: "\(path)[\(index)]")
            guard let rule = try reader.string("rule"), !rule.isEmpty else {
                throw SchemaError(code: .invalidKeyword, path: reader.path("rule"), message: "a CEL rule is required")
            }
            rules.append(ValidationRule(
                rule: rule, message: try reader.string("message"), messageExpression: try reader.string("messageExpression"),
                reason: try reader.string("reason"), fieldPath: try reader.string("fieldPath"),
                optionalOldSelf: try reader.bool("optionalOldSelf")))
        }
        return rules
    }

    /// The rules of structural schemas that this module relies on.
    private func checkStructural(path: String) throws(SchemaError) {
        func fail(_ message: String) -> SchemaError {
            SchemaError(code: .notStructural, path: path, message: message)
        }
        if isIntOrString, type != nil {
            throw fail("x-kubernetes-int-or-string must not be combined with a type")
        }
        if type == nil, !isIntOrString, !preservesUnknownFields {
            throw fail("a type is required (or x-kubernetes-int-or-string or x-kubernetes-preserve-unknown-fields)")
        }
        if !properties.isEmpty || additionalProperties != nil || !required.isEmpty || maxProperties != nil || minProperties != nil
            || isEmbeddedResource {
            guard type == .object else { throw fail("properties, additionalProperties and required need type object") }
        }
        if !properties.isEmpty, case .schema = additionalProperties {
            throw fail("properties and additionalProperties cannot both be given")
        }
        if type == .array, items == nil { throw fail("an array needs items") }
        if items != nil || listType != nil || maxItems != nil || minItems != nil, type != .array {
            throw fail("items, x-kubernetes-list-type, maxItems and minItems need type array")
        }
        if !preservesUnknownFields, additionalProperties == nil {
            for name in required where properties[name] == nil {
                throw fail("required names \(goQuoted(name)), which is not among the properties")
            }
        }
        if listType == .map {
            guard let items, items.type == .object, !listMapKeys.isEmpty else {
                throw fail("x-kubernetes-list-type map needs object items and x-kubernetes-list-map-keys")
            }
            for key in listMapKeys where items.properties[key] == nil || (!items.required.contains(key) && items.defaultValue == nil
                && items.properties[key]?.defaultValue == nil) {
                throw fail("the list map key \(goQuoted(key)) must be a required property of the items")
            }
        } else if !listMapKeys.isEmpty {
            throw fail("x-kubernetes-list-map-keys needs x-kubernetes-list-type map")
        }
        if let minLength, let maxLength, minLength > maxLength { throw fail("minLength is greater than maxLength") }
        if let minItems, let maxItems, minItems > maxItems { throw fail("minItems is greater than maxItems") }
    }
}

/// Reads typed keyword values out of one schema node, with paths for errors.
private struct KeywordReader {
    let node: JSONObject
    let base: String

    init(node: JSONObject, path: String) {
        self.node = node
        self.base = path
    }

    func path(_ key: String) -> String { base.isEmpty ? key : "\(base).\(key)" }

    func string(_ key: String) throws(SchemaError) -> String? {
        guard let value = node[key] else { return nil }
        guard case .string(let text) = value else { throw mismatch(key, "a string", value) }
        return text
    }

    func bool(_ key: String) throws(SchemaError) -> Bool? {
        guard let value = node[key] else { return nil }
        guard case .bool(let flag) = value else { throw mismatch(key, "a boolean", value) }
        return flag
    }

    func count(_ key: String) throws(SchemaError) -> Int? {
        guard let value = node[key] else { return nil }
        guard let number = value.integerValue, number >= 0, let count = Int(exactly: number) else {
            throw mismatch(key, "a non-negative integer", value)
        }
        return count
    }

    func number(_ key: String) throws(SchemaError) -> StructuralSchema.Number? {
        switch node[key] {
        case nil: return nil
        case .integer(let value)?: return .integer(value)
        case .double(let value)? where value.isFinite: return .double(value)
        case let value?: throw mismatch(key, "a number", value)
        }
    }

    func strings(_ key: String) throws(SchemaError) -> [String]? {
        guard let value = node[key] else { return nil }
        guard case .array(let elements) = value else { throw mismatch(key, "a list of strings", value) }
        var result: [String] = []
        for element in elements {
            guard case .string(let text) = element else { throw mismatch(key, "a list of strings", value) }
            result.append(text)
        }
        return result
    }

    private func mismatch(_ key: String, _ expected: String, _ value: JSONValue) -> SchemaError {
        SchemaError(code: .invalidKeyword, path: path(key), message: "must be \(expected), not \(jsonTypeName(value))")
    }
}
