import Foundation
import JSONValue

/// Why one line of a watch stream or one list body could not be decoded:
/// which document, which field, what was wrong, and how the input began,
/// e.g. `watch event: object.metadata.name: missing (input: {"type":"ADDED",...)`.
public struct ListWatchDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Hashable, Sendable {
        /// The bytes are not JSON (garbage, truncated, empty, invalid UTF-8).
        case notJSON
        /// A required member is absent (or null).
        case missingField
        /// A member, or the document itself, has the wrong JSON type.
        case wrongType
        /// A watch event's `type` is not ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.
        case unknownEventType
        /// A member has the right type but an unusable value (an empty name).
        case invalidValue
    }

    /// Which kind of document was being decoded.
    public enum Document: String, Hashable, Sendable {
        case watchEvent = "watch event"
        case listResponse = "list response"
    }

    public var code: Code
    public var document: Document
    /// The offending member as a path, e.g. `object.metadata.name` or
    /// `items[3].metadata`; empty when the document as a whole is at fault.
    public var field: String
    /// What was wrong, for a person.
    public var message: String
    /// The start of the input (at most 120 bytes, invalid UTF-8 replaced),
    /// so a log line shows what the server actually sent.
    public var excerpt: String

    public init(code: Code, document: Document, field: String, message: String, excerpt: String) {
        self.code = code
        self.document = document
        self.field = field
        self.message = message
        self.excerpt = excerpt
    }

    public var description: String {
        let location = field.isEmpty ? "" : "\(field): "
        return "\(document.rawValue): \(location)\(message) (input: \(excerpt))"
    }
}

extension ListWatchDecodingError {
    /// The document being decoded, so each check names it and quotes its start.
    struct Context {
        let document: Document
        let excerpt: String

        init(_ document: Document, input: some Collection<UInt8>) {
            self.document = document
            let limit = 120
            let text = String(decoding: input.prefix(limit), as: UTF8.self)
            excerpt = input.count > limit ? text + "..." : text
        }

        func error(_ code: Code, _ field: String, _ message: String) -> ListWatchDecodingError {
            ListWatchDecodingError(code: code, document: document, field: field, message: message, excerpt: excerpt)
        }

        func wrongType(_ field: String, expected: String, got value: JSONValue) -> ListWatchDecodingError {
            error(.wrongType, field, "expected \(expected), got \(value.jsonTypeName)")
        }

        /// The input as a JSON object.
        func parseObject(_ input: some Collection<UInt8>) throws(ListWatchDecodingError) -> JSONValue {
            let value: JSONValue
            do {
                value = try JSONValue(jsonData: Data(input))
            } catch {
                throw self.error(.notJSON, "", input.isEmpty ? "empty input" : "not valid JSON")
            }
            guard case .object = value else { throw wrongType("", expected: "a JSON object", got: value) }
            return value
        }

        /// Checks what the cache needs of an object: `metadata` an object
        /// with a non-empty string `name`, and `namespace` and
        /// `resourceVersion`, when present, strings.
        func checkObjectMetadata(_ object: JSONValue, at path: String) throws(ListWatchDecodingError) {
            guard case .object = object else { throw wrongType(path, expected: "an object", got: object) }
            let metadata = try require(object, "metadata", at: path)
            guard case .object = metadata else {
                throw wrongType(path + ".metadata", expected: "an object", got: metadata)
            }
            let name = try requireString(metadata, "name", at: path + ".metadata")
            guard !name.isEmpty else { throw error(.invalidValue, path + ".metadata.name", "must not be empty") }
            for key in ["namespace", "resourceVersion"] {
                if let value = metadata[key], !value.isNull, value.stringValue == nil {
                    throw wrongType(path + ".metadata." + key, expected: "a string", got: value)
                }
            }
        }

        /// The member `key` of `object`, which must be present and not null.
        func require(_ object: JSONValue, _ key: String, at path: String) throws(ListWatchDecodingError) -> JSONValue {
            guard let value = object[key], !value.isNull else { throw error(.missingField, Self.join(path, key), "missing") }
            return value
        }

        func requireString(_ object: JSONValue, _ key: String, at path: String) throws(ListWatchDecodingError) -> String {
            let value = try require(object, key, at: path)
            guard let string = value.stringValue else {
                throw wrongType(Self.join(path, key), expected: "a string", got: value)
            }
            return string
        }

        /// The member `key` as a string; nil when absent or null.
        func optionalString(_ object: JSONValue, _ key: String, at path: String) throws(ListWatchDecodingError) -> String? {
            guard let value = object[key], !value.isNull else { return nil }
            guard let string = value.stringValue else {
                throw wrongType(Self.join(path, key), expected: "a string", got: value)
            }
            return string
        }

        static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }
    }
}

extension JSONValue {
    /// The JSON type's name, for error messages.
    fileprivate var jsonTypeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
