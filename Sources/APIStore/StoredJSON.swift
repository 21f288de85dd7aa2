import Foundation
import JSONValue

/// Conversions between `JSONValue` and the JSON text in SQLite, and the
/// stamping of `metadata.resourceVersion`.
enum StoredJSON {
    static func encode(_ value: JSONValue, key: ObjectKey) throws(StoreError) -> String {
        do {
            return String(decoding: try value.jsonData(), as: UTF8.self)
        } catch {
            throw .invalidObject("\(key): \(error)")
        }
    }

    static func decode(_ text: String, key: ObjectKey) throws(StoreError) -> JSONValue {
        do {
            return try JSONValue(jsonData: Data(text.utf8))
        } catch {
            throw .storage("\(key): stored JSON does not parse: \(error)")
        }
    }

    /// `value` with `metadata.resourceVersion` set to `version`, or removed when nil.
    static func stamping(_ value: JSONValue, version: Int64?, key: ObjectKey) throws(StoreError) -> JSONValue {
        guard case .object(var object) = value else {
            throw .invalidObject("\(key): the object is not a JSON object")
        }
        var metadata: JSONObject
        switch object["metadata"] {
        case nil, .null?:
            metadata = JSONObject()
        case .object(let existing)?:
            metadata = existing
        case let other?:
            throw .invalidObject("\(key): metadata is \(other), not an object")
        }
        metadata["resourceVersion"] = version.map { .string(String($0)) }
        object["metadata"] = .object(metadata)
        return .object(object)
    }
}
