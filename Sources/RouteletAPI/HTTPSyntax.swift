import NetAddress

/// HTTP's syntax rules that a GatewayRoute's fields must follow (header
/// tokens, host names, request paths, regular expressions), as messages
/// for users. Each function returns nil when the text is valid.
enum HTTPSyntax {
    /// RFC 7230 tchar: the characters of a token such as a header name.
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// Why `name` is not an HTTP header name (an RFC 7230 token of at most `maxLength` bytes).
    static func headerNameProblem(_ name: String, maxLength: Int, example: String = "X-User-Role") -> String? {
        if name.isEmpty { return "a header name is required (like \(quoted(example)))" }
        if name.utf8.count > maxLength { return "\(quoted(name)) is \(name.utf8.count) bytes long; at most \(maxLength) are allowed" }
        if name.utf8.allSatisfy(isTokenCharacter) { return nil }
        return "\(quoted(name)) is not a valid header name: header names are HTTP tokens (letters, digits and !#$%&'*+-.^_`|~)"
    }

    static let hostnameMaxLength = 253
    static let hostnameLabelMaxLength = 63

    /// Why `text` is not a host name as a route matches it: a lowercase
    /// RFC 1123 DNS name, optionally `*.` and a name; no address, no port.
    static func hostnameProblem(_ text: String) -> String? {
        if text.isEmpty { return "a hostname must not be empty (expected a name like \"api.example.com\" or \"*.example.com\")" }
        if text.utf8.count > hostnameMaxLength {
            return "\(quoted(text)) is \(text.utf8.count) characters long; at most \(hostnameMaxLength) are allowed"
        }
        let bare = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
        if IPAddress(bare) != nil {
            return "\(quoted(text)) is an IP address; hostnames are DNS names like \"api.example.com\" (the address is spec.listener.address)"
        }
        if text.contains(":") {
            return "\(quoted(text)) has a port; a hostname takes none (the port is spec.listener.port)"
        }
        var name = Substring(text)
        if name.hasPrefix("*.") { name = name.dropFirst(2) }
        if name.contains("*") {
            return "\(quoted(text)) has a '*' that is not the whole first label; a wildcard is written like \"*.example.com\""
        }
        let labels = name.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        if let long = labels.first(where: { $0.count > hostnameLabelMaxLength }) {
            return "\(quoted(text)) has a label of \(long.count) characters; at most \(hostnameLabelMaxLength) are allowed"
        }
        func isLabel(_ label: Substring.UTF8View.SubSequence, lowercase: Bool) -> Bool {
            func alphanumeric(_ byte: UInt8) -> Bool {
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || (!lowercase && (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte))
            }
            guard let first = label.first, let last = label.last, alphanumeric(first), alphanumeric(last) else { return false }
            return label.allSatisfy { alphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
        if labels.allSatisfy({ isLabel($0, lowercase: true) }) { return nil }
        if labels.allSatisfy({ isLabel($0, lowercase: false) }) {
            return "\(quoted(text)) must be lowercase; did you mean \(quoted(text.lowercased()))?"
        }
        return "\(quoted(text)) is not a valid hostname: it must be labels of lowercase letters, digits and '-' (not at either end), joined by '.'"
    }

    /// Why `path` is not a path an Exact or PathPrefix match can take: it
    /// must start with '/', be made of RFC 3986 path characters and
    /// percent-encodings, and not hold what proxies normalise or refuse
    /// (`//`, `/./`, `/../`, an encoded '/', '#', a trailing `/.` or `/..`).
    static func pathProblem(_ path: String) -> String? {
        if path.isEmpty { return "a path is required (like \"/users\")" }
        guard path.hasPrefix("/") else { return "\(quoted(path)) must start with '/' (like \(quoted("/" + path)))" }
        for sequence in ["//", "/./", "/../"] where path.contains(sequence) {
            return "\(quoted(path)) must not contain \"\(sequence)\""
        }
        for suffix in ["/..", "/."] where path.hasSuffix(suffix) {
            return "\(quoted(path)) must not end with \"\(suffix)\""
        }
        if path.contains("#") { return "\(quoted(path)) must not contain '#' (a fragment is never sent to the server)" }
        if path.lowercased().contains("%2f") { return "\(quoted(path)) must not contain an encoded '/' (\"%2F\")" }
        let bytes = Array(path.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, isHexDigit(bytes[index + 1]), isHexDigit(bytes[index + 2]) else {
                    return "\(quoted(path)) has a '%' that is not followed by two hex digits (write '%' itself as \"%25\")"
                }
                index += 3
                continue
            }
            if !isPathCharacter(byte) {
                let what: String
                if byte <= 0x20 || byte == 0x7F {
                    what = byte == 0x20 ? "a space" : "a control character"
                } else if byte >= 0x80 {
                    what = "a non-ASCII character"
                } else {
                    what = "'\(Character(Unicode.Scalar(byte)))'"
                }
                return "\(quoted(path)) contains \(what), which a path cannot hold unencoded (percent-encode it, like \"%20\" for a space)"
            }
            index += 1
        }
        return nil
    }

    /// RFC 3986 pchar (unreserved, sub-delims, ':' and '@') and '/'.
    private static func isPathCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "-._~!$&'()*+,;=:@/".utf8.contains(byte)
        }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }

    /// Why `pattern` does not compile as a Swift `Regex` (the dialect
    /// routelet's matchers use: PCRE-like syntax, matched against the whole
    /// value), with the parser's own words.
    static func regexProblem(_ pattern: String, example: String) -> String? {
        if pattern.isEmpty { return "a regular expression is required (like \(quoted(example)))" }
        switch Result(catching: { try Regex(pattern) }) {
        case .success: return nil
        case .failure(let error): return "\(quoted(pattern)) is not a valid regular expression: \(error)"
        }
    }
}
