/// The subset of Kubernetes JSONPath used by CRD printer columns
/// (`additionalPrinterColumns[].jsonPath`) and `kubectl -o jsonpath`:
/// `.a.b`, `.a[0]`, `.a[-1]`, `.a[*]`, `.a.*`, `['key.with.dots']`, and filters
/// such as `[?(@.type=="Ready")]`, `[?(@.port!=80)]` or `[?(@.name)]`, with or
/// without a leading `$` and surrounding `{ }`.
public struct JSONPath: Hashable, Sendable, CustomStringConvertible {
    /// The expression as given.
    public let expression: String
    private let segments: [Segment]

    /// Parses `expression`; throws for invalid syntax and for JSONPath
    /// features outside the supported subset.
    public init(_ expression: String) throws(JSONPathError) {
        self.expression = expression
        var parser = Parser(expression)
        segments = try parser.parseExpression()
    }

    public var description: String { expression }

    /// Every value the path selects in `value`, in document order; empty when
    /// nothing matches (a missing member is not an error).
    public func evaluate(_ value: JSONValue) -> [JSONValue] {
        Self.select(segments, from: value)
    }

    /// The selected values as text, the way kubectl prints a column: strings
    /// as they are, numbers in decimal, booleans as true/false, arrays and
    /// objects as compact JSON, null as nothing, several results joined by
    /// ","; "" when nothing matched. For an `integer` column a fractional
    /// number is truncated, as the API server does.
    public func columnText(_ value: JSONValue, type: String) -> String {
        evaluate(value).map { Self.text(of: $0, type: type) }.joined(separator: ",")
    }

    /// One cell of a server-side Table for a printer column of `type`
    /// (`string`, `integer`, `number`, `boolean`, `date`): null when nothing
    /// (or null) matched; the number or boolean itself when exactly one value
    /// matched and it fits an `integer`, `number` or `boolean` column;
    /// otherwise the text from `columnText(_:type:)`. Dates are passed on as
    /// the stored timestamp text.
    public func cell(_ value: JSONValue, type: String) -> JSONValue {
        let results = evaluate(value)
        if results.isEmpty || results == [.null] { return .null }
        if results.count == 1 {
            let result = results[0]
            switch (type, result) {
            case ("integer", .integer):
                return result
            case ("integer", .double(let double)):
                if let integer = Self.truncatedInteger(double) { return .integer(integer) }
            case ("number", .integer), ("number", .double), ("boolean", .bool):
                return result
            default:
                break
            }
        }
        return .string(columnText(value, type: type))
    }

    private static func text(of value: JSONValue, type: String) -> String {
        switch value {
        case .null: return ""
        case .string(let string): return string
        case .bool(let bool): return bool ? "true" : "false"
        case .integer(let integer): return String(integer)
        case .double(let double):
            if type == "integer", let integer = truncatedInteger(double) { return String(integer) }
            return double.isFinite ? JSONValue.numberText(double) : String(double)
        case .array, .object: return value.compactJSONText
        }
    }

    private static func truncatedInteger(_ double: Double) -> Int64? {
        Int64(exactly: double.rounded(.towardZero))
    }
}

// MARK: - Evaluation

extension JSONPath {
    fileprivate enum Segment: Hashable, Sendable {
        /// An object member.
        case child(String)
        /// An array element; negative counts from the end.
        case index(Int)
        /// Every element of an array or member value of an object.
        case wildcard
        /// The elements of an array for which the filter holds.
        case filter(Filter)
    }

    fileprivate struct Filter: Hashable, Sendable {
        enum Comparison: Hashable, Sendable {
            case exists
            case equal(JSONValue)
            case notEqual(JSONValue)
        }

        /// The path from `@`, the element under test.
        var path: [Segment]
        var comparison: Comparison

        func matches(_ element: JSONValue) -> Bool {
            let found = JSONPath.select(path, from: element)
            switch comparison {
            case .exists:
                return !found.isEmpty
            case .equal(let literal):
                // As in Kubernetes, a missing field matches neither == nor !=.
                return found.count == 1 && found[0].isJSONEqual(to: literal)
            case .notEqual(let literal):
                return found.count == 1 && !found[0].isJSONEqual(to: literal)
            }
        }
    }

    fileprivate static func select(_ segments: [Segment], from root: JSONValue) -> [JSONValue] {
        var current = [root]
        for segment in segments {
            current = current.flatMap { select(segment, from: $0) }
            if current.isEmpty { break }
        }
        return current
    }

    private static func select(_ segment: Segment, from value: JSONValue) -> [JSONValue] {
        switch (segment, value) {
        case (.child(let name), .object(let object)):
            return object[name].map { [$0] } ?? []
        case (.index(let index), .array(let array)):
            let position = index < 0 ? array.count + index : index
            return array.indices.contains(position) ? [array[position]] : []
        case (.wildcard, .array(let array)):
            return array
        case (.wildcard, .object(let object)):
            return object.map(\.value)
        case (.filter(let filter), .array(let array)):
            return array.filter(filter.matches)
        default:
            return []
        }
    }
}

// MARK: - Parsing

extension JSONPath {
    private struct Parser {
        let expression: String
        let characters: [Character]
        var position = 0
        /// The offset of the first character after the surrounding braces.
        var end: Int

        init(_ expression: String) {
            self.expression = expression
            characters = Array(expression)
            end = characters.count
        }

        mutating func parseExpression() throws(JSONPathError) -> [Segment] {
            skipWhitespace()
            while end > position, characters[end - 1].isWhitespace { end -= 1 }
            if peek == "{" {
                guard end - position >= 2, characters[end - 1] == "}" else {
                    throw error(.syntax, "\"{\" without a closing \"}\"")
                }
                position += 1
                end -= 1
                skipWhitespace()
                while end > position, characters[end - 1].isWhitespace { end -= 1 }
            }
            guard position < end else { throw error(.syntax, "empty expression") }
            if peek == "$" { position += 1 }
            var segments: [Segment] = []
            // A path may start with a bare name, as in kubectl custom columns.
            if let first = peek, !Self.isNameTerminator(first) {
                segments.append(.child(try parseName()))
            }
            segments += try parseSegments()
            guard position == end else { throw error(.syntax, "unexpected \"\(characters[position])\"") }
            return segments
        }

        private mutating func parseSegments() throws(JSONPathError) -> [Segment] {
            var segments: [Segment] = []
            while let character = peek {
                switch character {
                case ".":
                    position += 1
                    switch peek {
                    case ".":
                        throw error(.unsupported, "recursive descent \"..\" is not supported")
                    case "*":
                        position += 1
                        segments.append(.wildcard)
                    case let next? where !Self.isNameTerminator(next):
                        segments.append(.child(try parseName()))
                    default:
                        throw error(.syntax, "expected a name after \".\"")
                    }
                case "[":
                    position += 1
                    segments.append(try parseBracket())
                default:
                    // In a filter the path ends where the operator starts;
                    // at the top level the caller reports the stray character.
                    return segments
                }
            }
            return segments
        }

        private mutating func parseBracket() throws(JSONPathError) -> Segment {
            skipWhitespace()
            let segment: Segment
            switch peek {
            case "*":
                position += 1
                segment = .wildcard
            case "'", "\"":
                segment = .child(try parseQuoted())
            case "?":
                position += 1
                segment = .filter(try parseFilter())
            case let character? where character == "-" || character.isASCIIDigit:
                guard let number = parseNumberText(), let index = Int(number) else {
                    throw error(.syntax, "expected an array index")
                }
                skipWhitespace()
                if peek == ":" { throw error(.unsupported, "array slices are not supported") }
                segment = .index(index)
            default:
                throw error(.syntax, "expected an index, \"*\", a quoted name or a filter after \"[\"")
            }
            skipWhitespace()
            if peek == "," { throw error(.unsupported, "unions are not supported") }
            try expect("]")
            return segment
        }

        private mutating func parseFilter() throws(JSONPathError) -> Filter {
            try expect("(")
            skipWhitespace()
            try expect("@")
            let path = try parseSegments()
            skipWhitespace()
            let comparison: Filter.Comparison
            if peek == ")" {
                comparison = .exists
            } else {
                let operatorStart = position
                var op = ""
                while let character = peek, "=!<>~".contains(character) {
                    op.append(character)
                    position += 1
                }
                skipWhitespace()
                switch op {
                case "==": comparison = .equal(try parseLiteral())
                case "!=": comparison = .notEqual(try parseLiteral())
                case "<", ">", "<=", ">=", "=~":
                    position = operatorStart
                    throw error(.unsupported, "filter operator \"\(op)\" is not supported; use == or !=")
                default:
                    position = operatorStart
                    throw error(.syntax, "expected \")\", \"==\" or \"!=\" in the filter")
                }
            }
            skipWhitespace()
            try expect(")")
            return Filter(path: path, comparison: comparison)
        }

        private mutating func parseLiteral() throws(JSONPathError) -> JSONValue {
            switch peek {
            case "'", "\"":
                return .string(try parseQuoted())
            case let character? where character == "-" || character.isASCIIDigit:
                let start = position
                guard let text = parseNumberText() else { throw error(.syntax, "expected a number") }
                if let integer = Int64(text) { return .integer(integer) }
                if let double = Double(text), double.isFinite { return .double(double) }
                position = start
                throw error(.syntax, "\"\(text)\" is not a usable number")
            default:
                for (word, value) in [("true", JSONValue.bool(true)), ("false", .bool(false)), ("null", .null)]
                where hasPrefix(word) {
                    position += word.count
                    return value
                }
                throw error(.syntax, "expected a quoted string, a number, true, false or null")
            }
        }

        /// An optional minus, digits, and an optional fraction and exponent.
        private mutating func parseNumberText() -> String? {
            let start = position
            if peek == "-" { position += 1 }
            let digitsStart = position
            while let character = peek, character.isASCIIDigit || ".eE+-".contains(character) {
                if (character == "+" || character == "-"), !"eE".contains(characters[position - 1]) { break }
                position += 1
            }
            guard position > digitsStart else {
                position = start
                return nil
            }
            return String(characters[start..<position])
        }

        private mutating func parseName() throws(JSONPathError) -> String {
            var name = ""
            while let character = peek, !Self.isNameTerminator(character) {
                position += 1
                if character == "\\" {
                    // kubectl lets a backslash escape a dot inside a name.
                    guard let escaped = peek else { throw error(.syntax, "a name ends in \"\\\"") }
                    position += 1
                    name.append(escaped)
                } else {
                    name.append(character)
                }
            }
            return name
        }

        private mutating func parseQuoted() throws(JSONPathError) -> String {
            guard let quote = peek else { throw error(.syntax, "expected a quote") }
            let start = position
            position += 1
            var text = ""
            while let character = peek {
                position += 1
                if character == quote { return text }
                if character == "\\" {
                    guard let escaped = peek else { break }
                    position += 1
                    text.append(escaped)
                } else {
                    text.append(character)
                }
            }
            position = start
            throw error(.syntax, "unterminated quoted string")
        }

        private static func isNameTerminator(_ character: Character) -> Bool {
            character.isWhitespace || ".[]()=!<>~{},'\"@$*".contains(character)
        }

        private var peek: Character? { position < end ? characters[position] : nil }

        private func hasPrefix(_ word: String) -> Bool {
            let wordCharacters = Array(word)
            return end - position >= wordCharacters.count
                && Array(characters[position..<position + wordCharacters.count]) == wordCharacters
        }

        private mutating func skipWhitespace() {
            while let character = peek, character.isWhitespace { position += 1 }
        }

        private mutating func expect(_ character: Character) throws(JSONPathError) {
            guard peek == character else {
                let found = peek.map { "\"\($0)\"" } ?? "the end"
                throw error(.syntax, "expected \"\(character)\", found \(found)")
            }
            position += 1
        }

        private func error(_ code: JSONPathError.Code, _ reason: String) -> JSONPathError {
            JSONPathError(code: code, expression: expression, position: position, reason: reason)
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
