/// A Linux interface name or a shell glob over names (`eth1`, `veth*`,
/// `eth[0-3]`), matched the way fnmatch(3) with FNM_NOESCAPE matches:
/// `*`, `?`, `[abc]`, `[a-z]`, `[!x]` / `[^x]`; no backslash escapes.
public struct InterfacePattern: Hashable, Sendable, CustomStringConvertible {
    /// Linux's IFNAMSIZ (16) minus the terminating NUL.
    public static let maxNameBytes = 15

    private enum Element: Hashable, Sendable {
        case literal(Unicode.Scalar)
        case anyOne
        case anyRun
        case set(negated: Bool, ranges: [ClosedRange<Unicode.Scalar>])
    }

    /// The text as written.
    public let text: String
    private let elements: [Element]

    /// Whether the text uses any glob syntax; false for an exact name.
    public var isGlob: Bool { elements.contains { if case .literal = $0 { return false } else { return true } } }

    /// nil unless `text` is a valid name or pattern; see ``parse(_:)``.
    public init?(_ text: String) {
        guard case .success(let pattern) = Self.parse(text) else { return nil }
        self = pattern
    }

    private init(text: String, elements: [Element]) {
        self.text = text
        self.elements = elements
    }

    /// Why a text is not a valid interface name or pattern.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        /// What kind of problem, for code that reacts to it.
        public enum Code: Hashable, Sendable {
            case empty, tooLong, forbiddenCharacter, reservedName, unclosedBracket, reversedRange, globNotAllowed
        }

        public var code: Code
        public var text: String
        /// A sentence naming the text and what would be right.
        public var message: String
        public var description: String { message }
    }

    /// Parses a pattern, checking it against Linux's rules for names
    /// (1-15 bytes; no '/', ':', whitespace or control characters; not "." or "..").
    public static func parse(_ text: String) -> Result<InterfacePattern, ParseError> {
        if let error = nameProblem(text, example: "like \"eth0\" or a pattern like \"veth*\"") { return .failure(error) }
        var elements: [Element] = []
        let scalars = Array(text.unicodeScalars)
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            index += 1
            switch scalar {
            case "*":
                if elements.last != .anyRun { elements.append(.anyRun) }
            case "?":
                elements.append(.anyOne)
            case "[":
                var negated = false
                if index < scalars.count, scalars[index] == "!" || scalars[index] == "^" {
                    negated = true
                    index += 1
                }
                var ranges: [ClosedRange<Unicode.Scalar>] = []
                var closed = false
                var first = true
                while index < scalars.count {
                    let low = scalars[index]
                    if low == "]" && !first {
                        closed = true
                        index += 1
                        break
                    }
                    first = false
                    index += 1
                    if index + 1 < scalars.count, scalars[index] == "-", scalars[index + 1] != "]" {
                        let high = scalars[index + 1]
                        index += 2
                        guard low <= high else {
                            return .failure(ParseError(
                                code: .reversedRange, text: text,
                                message: "\(quoted(text)) has the reversed range \"\(low)-\(high)\"; write it as \"\(high)-\(low)\""))
                        }
                        ranges.append(low...high)
                    } else {
                        ranges.append(low...low)
                    }
                }
                guard closed else {
                    return .failure(ParseError(code: .unclosedBracket, text: text, message: "\(quoted(text)) has a '[' without a matching ']'"))
                }
                elements.append(.set(negated: negated, ranges: ranges))
            default:
                elements.append(.literal(scalar))
            }
        }
        return .success(InterfacePattern(text: text, elements: elements))
    }

    /// nil when `text` is a valid exact interface name (no glob characters);
    /// otherwise why not.
    public static func exactNameProblem(_ text: String) -> ParseError? {
        if let error = nameProblem(text, example: "like \"eth0\"") { return error }
        if text.unicodeScalars.contains(where: { "*?[]".unicodeScalars.contains($0) }) {
            return ParseError(
                code: .globNotAllowed, text: text,
                message: "\(quoted(text)) is a pattern; an exact interface name is needed here (no '*', '?', '[' or ']')")
        }
        return nil
    }

    private static func nameProblem(_ text: String, example: String) -> ParseError? {
        func error(_ code: ParseError.Code, _ message: String) -> ParseError {
            ParseError(code: code, text: text, message: message)
        }
        if text.isEmpty { return error(.empty, "an interface name must not be empty; expected a name \(example)") }
        let bytes = text.utf8.count
        if bytes > maxNameBytes {
            return error(.tooLong, "\(quoted(text)) is \(bytes) bytes long; Linux interface names are at most \(maxNameBytes) bytes")
        }
        if text == "." || text == ".." { return error(.reservedName, "\(quoted(text)) is not a valid interface name") }
        for scalar in text.unicodeScalars {
            let what: String
            if scalar == "/" || scalar == ":" {
                what = "'\(scalar)'"
            } else if scalar.properties.isWhitespace {
                what = "whitespace"
            } else if scalar.value < 0x20 || scalar.value == 0x7F {
                what = "a control character"
            } else {
                continue
            }
            return error(.forbiddenCharacter, "\(quoted(text)) contains \(what), which Linux interface names cannot contain")
        }
        return nil
    }

    /// Problems with a list of interface names or patterns at `path`
    /// (`spec.interfaces`): entries that do not parse, and duplicates.
    static func validate(_ interfaces: [String], at path: String) -> [FieldError] {
        var errors: [FieldError] = []
        var firstIndex: [String: Int] = [:]
        for (index, interface) in interfaces.enumerated() {
            let field = "\(path)[\(index)]"
            if case .failure(let error) = parse(interface) {
                errors.append(FieldError(path: field, message: error.message))
            } else if let earlier = firstIndex[interface] {
                errors.append(FieldError(path: field, message: "\(quoted(interface)) is already listed at \(path)[\(earlier)]"))
            } else {
                firstIndex[interface] = index
            }
        }
        return errors
    }

    /// Whether `name` matches the whole pattern.
    public func matches(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        var p = 0, s = 0
        // Where to resume after the last '*': pattern index after it, and
        // the name index it has swallowed up to.
        var resume: (pattern: Int, name: Int)?
        while s < scalars.count {
            if p < elements.count {
                switch elements[p] {
                case .anyRun:
                    resume = (p + 1, s)
                    p += 1
                    continue
                case .anyOne:
                    p += 1
                    s += 1
                    continue
                case .literal(let expected) where expected == scalars[s]:
                    p += 1
                    s += 1
                    continue
                case .set(let negated, let ranges) where ranges.contains { $0.contains(scalars[s]) } != negated:
                    p += 1
                    s += 1
                    continue
                default:
                    break
                }
            }
            guard let last = resume else { return false }
            // Let the last '*' swallow one more character and try again.
            resume = (last.pattern, last.name + 1)
            p = last.pattern
            s = last.name + 1
        }
        while p < elements.count, elements[p] == .anyRun { p += 1 }
        return p == elements.count
    }

    public var description: String { text }
}
