import JSONValue

/// Turns scalar text into a JSON value with YAML 1.1 rules as go-yaml v2
/// (and so kubectl) applies them. Timestamps stay strings, as kubectl keeps them.
enum ScalarResolver {
    /// The YAML type a scalar resolved to; an integer too large for Int64
    /// still has kind `.int` although its value is a double.
    enum Kind: String {
        case null, bool, int, float, str
    }

    static let tagPrefix = "tag:yaml.org,2002:"

    /// `tag:yaml.org,2002:int` as `!!int`, for messages.
    static func shortTag(_ tag: String) -> String {
        tag.hasPrefix(tagPrefix) ? "!!" + tag.dropFirst(tagPrefix.count) : tag
    }

    private static let fixed: [String: (JSONValue, Kind)] = {
        var table: [String: (JSONValue, Kind)] = [:]
        for word in ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"] {
            table[word] = (.bool(true), .bool)
        }
        for word in ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"] {
            table[word] = (.bool(false), .bool)
        }
        for word in ["", "~", "null", "Null", "NULL"] { table[word] = (.null, .null) }
        for word in [".nan", ".NaN", ".NAN"] { table[word] = (.double(.nan), .float) }
        for word in [".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"] { table[word] = (.double(.infinity), .float) }
        for word in ["-.inf", "-.Inf", "-.INF"] { table[word] = (.double(-.infinity), .float) }
        return table
    }()

    /// Resolves an untagged plain scalar.
    static func resolvePlain(_ text: String) -> (JSONValue, Kind) {
        guard let first = text.utf8.first else { return (.null, .null) }
        let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
        let hint: Character?
        switch first {
        case UInt8(ascii: "+"), UInt8(ascii: "-"): hint = "S"
        case digits: hint = "D"
        case UInt8(ascii: "."): hint = "."
        case UInt8(ascii: "~"): hint = "M"
        default:
            hint = "yYnNtTfFoO".utf8.contains(first) ? "M" : nil
        }
        guard let hint else { return (.string(text), .str) }
        if let known = fixed[text] { return known }
        switch hint {
        case ".":
            if matchesDotFloat(text.utf8), let value = Double(text), value.isFinite { return (.double(value), .float) }
        case "S", "D":
            let plain = text.replacingUnderscores()
            if let (negative, magnitude, signed) = parseGoInteger(plain) {
                if !negative, magnitude <= UInt64(Int64.max) { return (.integer(Int64(magnitude)), .int) }
                if negative, magnitude <= UInt64(Int64.max) { return (.integer(-Int64(magnitude)), .int) }
                if negative, magnitude == UInt64(Int64.max) + 1 { return (.integer(.min), .int) }
                // strconv.ParseUint takes no sign; go-yaml then keeps a uint64.
                if !signed { return (.double(Double(magnitude)), .int) }
            }
            // Go's ParseFloat reports overflow as an error; go-yaml then keeps the text.
            if matchesYAMLFloat(plain.utf8), let value = Double(plain), value.isFinite { return (.double(value), .float) }
        default:
            break
        }
        return (.string(text), .str)
    }

    /// Resolves a scalar carrying an explicit tag. The tag wins over the
    /// style: `!!int "12"` is the integer 12.
    static func resolveTagged(_ text: String, tag: String, at position: Position) throws(YAMLError) -> JSONValue {
        let name = tag.hasPrefix(tagPrefix) ? String(tag.dropFirst(tagPrefix.count)) : nil
        switch name {
        case "str", "timestamp", "merge":
            return .string(text)
        case "int", "float", "bool", "null":
            let (value, kind) = resolvePlain(text)
            if kind.rawValue == name { return value }
            if name == "float", kind == .int, let number = value.doubleValue { return .double(number) }
            throw YAMLError(at: position, "cannot decode \(shortTag(tagPrefix + kind.rawValue)) \"\(text)\" as \(shortTag(tag))")
        case "map", "seq":
            throw YAMLError(at: position, "\(shortTag(tag)) cannot be used on a scalar")
        default:
            if tag == "!" { return .string(text) }
            throw YAMLError(at: position, "unknown tag \(shortTag(tag))")
        }
    }

    /// A resolved scalar as a mapping key, in the form kubectl gives it.
    static func keyText(_ value: JSONValue, original: String) -> String {
        switch value {
        case .string(let text): return text
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .integer(let number): return String(number)
        case .double(let number):
            if number.isNaN { return ".nan" }
            if number.isInfinite { return number < 0 ? "-.inf" : ".inf" }
            if number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
            return String(number)
        case .array, .object: return original
        }
    }

    /// strconv.ParseInt(text, 0, 64) syntax: sign, then 0x/0o/0b or a
    /// leading 0 (octal), then digits. Returns nil on bad syntax or when the
    /// magnitude exceeds UInt64.
    private static func parseGoInteger(_ text: String) -> (negative: Bool, magnitude: UInt64, signed: Bool)? {
        var bytes = Substring(text).utf8[...]
        var negative = false, signed = false
        if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            negative = first == UInt8(ascii: "-")
            signed = true
            bytes = bytes.dropFirst()
        }
        var base: UInt64 = 10
        if bytes.count >= 2, bytes.first == UInt8(ascii: "0") {
            switch bytes.dropFirst().first {
            case UInt8(ascii: "x"), UInt8(ascii: "X"): base = 16; bytes = bytes.dropFirst(2)
            case UInt8(ascii: "o"), UInt8(ascii: "O"): base = 8; bytes = bytes.dropFirst(2)
            case UInt8(ascii: "b"), UInt8(ascii: "B"): base = 2; bytes = bytes.dropFirst(2)
            default: base = 8; bytes = bytes.dropFirst()
            }
        }
        guard !bytes.isEmpty else { return nil }
        var magnitude: UInt64 = 0
        for byte in bytes {
            let digit: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt64(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt64(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
            guard digit < base else { return nil }
            let (shifted, overflow1) = magnitude.multipliedReportingOverflow(by: base)
            let (sum, overflow2) = shifted.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
        }
        return (negative, magnitude, signed)
    }

    /// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, go-yaml's yamlStyleFloat.
    private static func matchesYAMLFloat(_ text: String.UTF8View) -> Bool {
        var scanner = ByteScanner(text)
        scanner.skip(oneOf: "+-")
        if scanner.skip(oneOf: ".") {
            guard scanner.skipDigits() > 0 else { return false }
        } else {
            guard scanner.skipDigits() > 0 else { return false }
            if scanner.skip(oneOf: ".") { scanner.skipDigits() }
        }
        return scanner.skipExponent() && scanner.atEnd
    }

    /// What Go's ParseFloat accepts for a text starting with '.': `\.[0-9]+([eE][-+]?[0-9]+)?`.
    private static func matchesDotFloat(_ text: String.UTF8View) -> Bool {
        var scanner = ByteScanner(text)
        guard scanner.skip(oneOf: "."), scanner.skipDigits() > 0 else { return false }
        return scanner.skipExponent() && scanner.atEnd
    }
}

private struct ByteScanner {
    let bytes: [UInt8]
    var index = 0

    init(_ text: String.UTF8View) { bytes = Array(text) }

    var atEnd: Bool { index == bytes.count }

    @discardableResult
    mutating func skip(oneOf characters: String) -> Bool {
        guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
        index += 1
        return true
    }

    @discardableResult
    mutating func skipDigits() -> Int {
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        return index - start
    }

    /// An optional exponent; false when one starts but is malformed.
    mutating func skipExponent() -> Bool {
        guard skip(oneOf: "eE") else { return true }
        skip(oneOf: "+-")
        return skipDigits() > 0
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        contains("_") ? String(filter { $0 != "_" }) : self
    }
}
