/// A JSON Pointer (RFC 6901) such as `/spec/ports/0/name`: the address of
/// one value inside a document, as used by JSON Patch.
public struct JSONPointer: Hashable, Sendable, CustomStringConvertible {
    /// The unescaped reference tokens; empty for the whole document.
    public let tokens: [String]

    /// Parses pointer text: "" for the whole document, otherwise "/"-separated
    /// tokens in which `~1` stands for "/" and `~0` for "~".
    public init(_ text: String) throws(JSONPointerError) {
        guard !text.isEmpty else {
            tokens = []
            return
        }
        guard text.hasPrefix("/") else {
            throw JSONPointerError(pointer: text, reason: "a JSON pointer must be empty or start with \"/\"")
        }
        var tokens: [String] = []
        var current = ""
        var iterator = text.dropFirst().makeIterator()
        while let character = iterator.next() {
            switch character {
            case "/":
                tokens.append(current)
                current = ""
            case "~":
                switch iterator.next() {
                case "0": current.append("~")
                case "1": current.append("/")
                default:
                    throw JSONPointerError(pointer: text, reason: "\"~\" must be followed by \"0\" or \"1\"")
                }
            default:
                current.append(character)
            }
        }
        tokens.append(current)
        self.tokens = tokens
    }

    /// A pointer made of already-unescaped tokens.
    public init(tokens: [String]) {
        self.tokens = tokens
    }

    /// The pointer as text, with `~` and `/` escaped.
    public var description: String {
        tokens.map { "/" + $0.replacing("~", with: "~0").replacing("/", with: "~1") }.joined()
    }

    /// What a token means as an array position.
    enum ArrayPosition: Equatable {
        case index(Int)
        /// "-": just past the last element.
        case end
        /// Canonical digits, but beyond any possible array index.
        case tooLarge
        /// Not an index: letters, a sign, or a leading zero as in "01".
        case invalid
    }

    static func arrayPosition(_ token: String) -> ArrayPosition {
        if token == "-" { return .end }
        let digits = token.utf8
        guard let first = digits.first, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return .invalid
        }
        if first == UInt8(ascii: "0") && digits.count > 1 { return .invalid }
        guard let index = Int(token) else { return .tooLarge }
        return .index(index)
    }
}

/// Why a JSON pointer's text could not be parsed.
public struct JSONPointerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The pointer text as given.
    public var pointer: String
    public var reason: String

    public var description: String { "invalid JSON pointer \"\(pointer)\": \(reason)" }
}

extension JSONValue {
    /// The value `pointer` refers to, or nil when it does not exist.
    public subscript(pointer: JSONPointer) -> JSONValue? {
        var current = self
        for token in pointer.tokens {
            switch current {
            case .object(let object):
                guard let next = object[token] else { return nil }
                current = next
            case .array(let array):
                guard case .index(let index) = JSONPointer.arrayPosition(token), array.indices.contains(index) else {
                    return nil
                }
                current = array[index]
            default:
                return nil
            }
        }
        return current
    }
}
