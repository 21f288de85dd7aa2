import Foundation
import JSONValue

// How kube-apiserver words values in its messages (Go's %q for strings,
// OpenAPI type names), so that clients see the text they know.

/// The OpenAPI name of a value's type, as Kubernetes reports it in
/// `must be of type integer: "string"`.
func jsonTypeName(_ value: JSONValue) -> String {
    switch value {
    case .null: "null"
    case .bool: "boolean"
    case .integer: "integer"
    case .double: "number"
    case .string: "string"
    case .array: "array"
    case .object: "object"
    }
}

/// `text` in double quotes with Go's escapes, as `%q` prints it.
func goQuoted(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
            result += "\\x" + hex(scalar.value, digits: 2)
        case _ where (0x80..<0xA0).contains(scalar.value):
            result += "\\u" + hex(scalar.value, digits: 4)
        default:
            result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}

private func hex(_ value: UInt32, digits: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
}

/// A double as Go's `%v` prints it: no ".0" on whole numbers.
func formatNumber(_ value: Double) -> String {
    if value.isFinite, value == value.rounded(), abs(value) < 1e21, let whole = Int64(exactly: value) {
        return String(whole)
    }
    return "\(value)"
}

/// A value as it appears after `Invalid value: ` in a Kubernetes message.
func valueText(_ value: JSONValue) -> String {
    switch value {
    case .null: return "null"
    case .bool(let flag): return flag ? "true" : "false"
    case .integer(let number): return String(number)
    case .double(let number): return formatNumber(number)
    case .string(let text): return goQuoted(text)
    case .array, .object:
        // Nested values are bounded by the depth check before they get here.
        guard let data = try? value.jsonData(), let text = String(data: data, encoding: .utf8) else { return jsonTypeName(value) }
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }
}
