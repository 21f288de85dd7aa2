/// One problem with one field of a resource, e.g.
/// `spec.routes[3].destination: "10.0.0.1/8" has host bits set; ...`.
public struct FieldError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where the problem is, as a field path like `spec.routes[3].destination`;
    /// empty for a note about the list itself (the "… and N more" entry).
    public var path: String
    /// What is wrong and what would be right.
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

extension [FieldError] {
    /// At most `limit` errors, then one entry saying how many were left out,
    /// so that a table where every route is wrong stays readable.
    func capped(at limit: Int) -> [FieldError] {
        guard count > limit else { return self }
        return Array(prefix(Swift.max(limit, 0))) + [FieldError(path: "", message: "… and \(count - Swift.max(limit, 0)) more errors")]
    }
}

/// `text` in double quotes, escaped, and shortened when long, for messages.
func quoted(_ text: String, limit: Int = 80) -> String {
    var body = ""
    var length = 0
    for scalar in text.unicodeScalars {
        if length == limit {
            body += "…"
            break
        }
        switch scalar {
        case "\"": body += "\\\""
        case "\\": body += "\\\\"
        case "\n": body += "\\n"
        case "\r": body += "\\r"
        case "\t": body += "\\t"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
            body += "\\u{\(String(scalar.value, radix: 16))}"
        default: body.unicodeScalars.append(scalar)
        }
        length += 1
    }
    return "\"" + body + "\""
}
