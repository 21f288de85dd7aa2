// Helpers shared by JSON Patch and JSONPath.

extension JSONValue {
    /// Equality as JSON defines it (RFC 6902 section 4.6): numbers compare by
    /// value, so `.integer(1)` equals `.double(1)`; object member order is ignored.
    func isJSONEqual(to other: JSONValue) -> Bool {
        switch (self, other) {
        case (.integer(let left), .integer(let right)):
            return left == right
        case (.integer(let integer), .double(let double)), (.double(let double), .integer(let integer)):
            return Int64(exactly: double) == integer
        case (.double(let left), .double(let right)):
            return left == right
        case (.array(let left), .array(let right)):
            return left.count == right.count && zip(left, right).allSatisfy { $0.isJSONEqual(to: $1) }
        case (.object(let left), .object(let right)):
            guard left.count == right.count else { return false }
            return left.allSatisfy { key, value in right[key].map { value.isJSONEqual(to: $0) } ?? false }
        default:
            return self == other
        }
    }

    /// How many arrays and objects are nested at the deepest point (0 for a
    /// scalar), counted without recursion so a pathological value cannot
    /// exhaust the stack. Stops early and returns `limit + 1` once the depth
    /// exceeds `limit`.
    func nestingDepth(limit: Int) -> Int {
        var deepest = 0
        var pending: [(value: JSONValue, depth: Int)] = [(self, 0)]
        while let (value, depth) = pending.popLast() {
            let children: [JSONValue]
            switch value {
            case .array(let array): children = array
            case .object(let object): children = object.map(\.value)
            default: continue
            }
            let childDepth = depth + 1
            deepest = max(deepest, childDepth)
            if deepest > limit { return limit + 1 }
            for child in children { pending.append((child, childDepth)) }
        }
        return deepest
    }

    /// Compact JSON text with members in insertion order; a non-finite double
    /// (which JSON cannot express) is written as null. Recursive, so meant for
    /// values of parsed depth.
    var compactJSONText: String {
        var text = ""
        appendCompactJSON(to: &text)
        return text
    }

    private func appendCompactJSON(to text: inout String) {
        switch self {
        case .null: text += "null"
        case .bool(let value): text += value ? "true" : "false"
        case .integer(let value): text += String(value)
        case .double(let value): text += value.isFinite ? Self.numberText(value) : "null"
        case .string(let value): Self.appendQuoted(value, to: &text)
        case .array(let values):
            text += "["
            for (offset, value) in values.enumerated() {
                if offset > 0 { text += "," }
                value.appendCompactJSON(to: &text)
            }
            text += "]"
        case .object(let object):
            text += "{"
            for (offset, member) in object.enumerated() {
                if offset > 0 { text += "," }
                Self.appendQuoted(member.key, to: &text)
                text += ":"
                member.value.appendCompactJSON(to: &text)
            }
            text += "}"
        }
    }

    /// A double in decimal, without a trailing ".0" for whole numbers of a
    /// size that prints exactly.
    static func numberText(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 {
            return String(Int64(value))
        }
        return String(value)
    }

    private static func appendQuoted(_ string: String, to text: inout String) {
        text += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
