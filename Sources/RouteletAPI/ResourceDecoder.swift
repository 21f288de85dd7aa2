import Foundation
import JSONValue

/// Decodes resources from JSON, turning Foundation's `DecodingError` into a
/// ``ResourceDecodingError`` that names the field and the offending value.
public enum ResourceDecoder {
    /// Decodes `type` from a JSON value, e.g. one read from a YAML manifest.
    public static func decode<T: Decodable>(_ type: T.Type, from json: JSONValue) throws(ResourceDecodingError) -> T {
        let data: Data
        do {
            data = try json.jsonData()
        } catch {
            // JSON cannot hold .inf or .nan, which YAML can.
            let path = nonFinitePath(in: json, path: []) ?? []
            throw ResourceDecodingError(path: render(path), message: "expected a finite number, got \(describe(valueAt: path, in: json))")
        }
        return try decode(type, from: data, document: json)
    }

    /// Decodes `type` from JSON text.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws(ResourceDecodingError) -> T {
        try decode(type, from: data, document: nil)
    }

    private static func decode<T: Decodable>(_ type: T.Type, from data: Data, document: JSONValue?) throws(ResourceDecodingError) -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            // Parse once more only to quote the offending value.
            let json = document ?? (try? JSONValue(jsonData: data))
            throw convert(error, document: json)
        } catch {
            throw ResourceDecodingError(path: "", message: "\(error)")
        }
    }

    static func convert(_ error: DecodingError, document: JSONValue?) -> ResourceDecodingError {
        switch error {
        case .typeMismatch(let type, let context):
            let path = components(context.codingPath)
            return ResourceDecodingError(
                path: render(path), message: "expected \(expectation(for: type)), got \(describe(valueAt: path, in: document))")
        case .valueNotFound(let type, let context):
            let path = components(context.codingPath)
            return ResourceDecodingError(path: render(path), message: "expected \(expectation(for: type)), got null")
        case .keyNotFound(let key, let context):
            let path = components(context.codingPath + [key])
            return ResourceDecodingError(path: render(path), message: "required field is missing")
        case .dataCorrupted(let context):
            let path = components(context.codingPath)
            if path.isEmpty, document == nil {
                return ResourceDecodingError(path: "", message: "not valid JSON: \(context.debugDescription)")
            }
            if path.isEmpty {
                // Foundation reports numbers that do not fit their type this way, without a path.
                let underlying = context.underlyingError.map { " (\($0))" } ?? ""
                return ResourceDecodingError(path: "", message: context.debugDescription + underlying)
            }
            return ResourceDecodingError(path: render(path), message: context.debugDescription)
        @unknown default:
            return ResourceDecodingError(path: "", message: "\(error)")
        }
    }

    private enum Step {
        case key(String)
        case index(Int)
    }

    private static func components(_ codingPath: [any CodingKey]) -> [Step] {
        codingPath.map { key in
            if let index = key.intValue, key.stringValue == "Index \(index)" { return .index(index) }
            return .key(key.stringValue)
        }
    }

    private static func render(_ path: [Step]) -> String {
        var text = ""
        for step in path {
            switch step {
            case .key(let key): text += text.isEmpty ? key : ".\(key)"
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }

    private static func expectation(for type: Any.Type) -> String {
        let name = "\(type)"
        if name.contains("Dictionary") { return "an object" }
        if name.contains("Array") { return "a list" }
        if name.contains("Int") { return "an integer" }
        if name.contains("Double") || name.contains("Float") { return "a number" }
        if name.contains("Bool") { return "a boolean" }
        if name.contains("String") { return "a string" }
        return "a value of type \(name)"
    }

    private static func valueAt(_ path: [Step], in document: JSONValue?) -> JSONValue? {
        var value = document
        for step in path {
            switch step {
            case .key(let key): value = value?[key]
            case .index(let index): value = value?[index]
            }
        }
        return value
    }

    private static func describe(valueAt path: [Step], in document: JSONValue?) -> String {
        valueAt(path, in: document).map(describe) ?? "something else"
    }

    private static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .integer(let number): return String(number)
        case .double(let number): return number.isFinite ? "\(number)" : (number.isNaN ? ".nan" : (number < 0 ? "-.inf" : ".inf"))
        case .string(let text): return quoted(text)
        case .array: return "a list"
        case .object: return "an object"
        }
    }

    private static func nonFinitePath(in value: JSONValue, path: [Step]) -> [Step]? {
        switch value {
        case .double(let number) where !number.isFinite:
            return path
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                if let found = nonFinitePath(in: element, path: path + [.index(index)]) { return found }
            }
        case .object(let object):
            for (key, member) in object {
                if let found = nonFinitePath(in: member, path: path + [.key(key)]) { return found }
            }
        default:
            break
        }
        return nil
    }
}
