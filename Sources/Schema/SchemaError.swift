/// Why a schema or a CustomResourceDefinition could not be read: what kind
/// of problem, where in the document, and what would be right.
public struct SchemaError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of problem, for code that reacts to it.
    public enum Code: Hashable, Sendable {
        /// A keyword this module does not implement (e.g. `anyOf`); refusing
        /// it beats validating less than the author meant.
        case unsupportedKeyword
        /// A keyword's value has the wrong type or is out of range.
        case invalidKeyword
        /// The schema is not structural, e.g. a node without a type.
        case notStructural
        /// A `pattern` that does not compile.
        case invalidPattern
        /// The schema nests deeper than ``StructuralSchema/maxDepth``.
        case tooDeep
        /// A field the document needs is missing or malformed.
        case invalidDocument
        /// The text is not YAML or JSON.
        case unreadable
    }

    public var code: Code
    /// Where in the document, like `spec.versions[0].schema.openAPIV3Schema.properties.spec.type`.
    public var path: String
    public var message: String

    public init(code: Code, path: String, message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}
