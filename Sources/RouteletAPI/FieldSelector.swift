/// Selects objects by field values (`?fieldSelector=`), as Kubernetes'
/// k8s.io/apimachinery/pkg/fields does: terms `field=value`,
/// `field==value` or `field!=value`, comma-separated and AND-ed. Which
/// fields a resource supports is the server's business, not the parser's.
public struct FieldSelector: Hashable, Sendable, CustomStringConvertible {
    /// One term of a selector.
    public struct Requirement: Hashable, Sendable, CustomStringConvertible {
        public enum Operator: String, Hashable, Sendable {
            case equals = "="
            case notEquals = "!="
        }

        /// The field label, e.g. `involvedObject.name` (as written, not trimmed).
        public var field: String
        public var `operator`: Operator
        /// The value, unescaped; may be empty (`involvedObject.namespace=`).
        public var value: String

        public init(field: String, operator: Operator, value: String) {
            self.field = field
            self.operator = `operator`
            self.value = value
        }

        /// Whether an object whose field holds `actual` ("" when absent) meets it.
        public func matches(_ actual: String) -> Bool {
            switch `operator` {
            case .equals: actual == value
            case .notEquals: actual != value
            }
        }

        public var description: String { "\(field)\(`operator`.rawValue)\(FieldSelector.escape(value))" }
    }

    /// Why a selector text was refused; the message follows Kubernetes' wording.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var message: String
        public init(message: String) { self.message = message }
        public var description: String { message }
    }

    /// AND-ed; empty selects everything.
    public var requirements: [Requirement]

    public init(requirements: [Requirement] = []) {
        self.requirements = requirements
    }

    /// Whether the selector selects every object.
    public var isEmpty: Bool { requirements.isEmpty }

    /// Whether an object meets every requirement; `value` gives a field's
    /// value on the object ("" when it has none).
    public func matches(_ value: (String) -> String) -> Bool {
        requirements.allSatisfy { $0.matches(value($0.field)) }
    }

    public var description: String { requirements.map(\.description).joined(separator: ",") }

    /// Parses the text form kubectl sends. Empty terms are skipped; a term
    /// without an operator, and a value with an unescaped ',' or '=' or an
    /// unknown escape (only `\\`, `\,` and `\=` exist), are errors.
    public static func parse(_ text: String) throws(ParseError) -> FieldSelector {
        var requirements: [Requirement] = []
        for term in splitTerms(text) where !term.isEmpty {
            guard let (field, op, rawValue) = splitTerm(term) else {
                throw ParseError(message: "invalid selector: '\(text)'; can't understand '\(term)'")
            }
            requirements.append(Requirement(field: field, operator: op, value: try unescape(rawValue)))
        }
        return FieldSelector(requirements: requirements)
    }

    /// Splits on commas that are not escaped with a backslash.
    private static func splitTerms(_ text: String) -> [Substring] {
        var terms: [Substring] = []
        var start = text.startIndex
        var escaped = false
        for index in text.indices {
            let character = text[index]
            if escaped {
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "," {
                terms.append(text[start..<index])
                start = text.index(after: index)
            }
        }
        terms.append(text[start...])
        return terms
    }

    /// The first operator in the term splits it: `!=`, then `==`, then `=`
    /// at each position, as Kubernetes looks for them.
    private static func splitTerm(_ term: Substring) -> (String, Requirement.Operator, Substring)? {
        var index = term.startIndex
        while index < term.endIndex {
            let rest = term[index...]
            for (token, op) in [("!=", Requirement.Operator.notEquals), ("==", .equals), ("=", .equals)] where rest.hasPrefix(token) {
                return (String(term[..<index]), op, rest.dropFirst(token.count))
            }
            index = term.index(after: index)
        }
        return nil
    }

    private static func unescape(_ value: Substring) throws(ParseError) -> String {
        var result = ""
        var escaped = false
        for character in value {
            if escaped {
                guard character == "\\" || character == "," || character == "=" else {
                    throw ParseError(message: "invalid field selector: invalid escape sequence: \\\(character)")
                }
                result.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "," || character == "=" {
                throw ParseError(message: "invalid field selector: unescaped character in value: '\(character)' (write it as \"\\\(character)\")")
            } else {
                result.append(character)
            }
        }
        if escaped { throw ParseError(message: "invalid field selector: invalid escape sequence: \\") }
        return result
    }

    /// `value` with `\`, `,` and `=` escaped, as a selector's text needs it.
    public static func escape(_ value: String) -> String {
        var result = ""
        for character in value {
            if character == "\\" || character == "," || character == "=" { result.append("\\") }
            result.append(character)
        }
        return result
    }
}
