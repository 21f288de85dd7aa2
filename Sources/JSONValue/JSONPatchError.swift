/// Why a JSON Patch (RFC 6902) could not be applied: which operation, what
/// it tried, and what was wrong, in terms a client can act on.
public struct JSONPatchError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable {
        /// The patch document is not a JSON array.
        case notAnArrayOfOperations
        /// An operation is not an object, or has a missing, mistyped or unknown
        /// member (`op`, `path`, `from`, `value`), or asks for the impossible
        /// (moving a value into its own child, removing the whole document).
        case malformedOperation
        /// `path` or `from` is not valid JSON Pointer text.
        case invalidPointer
        /// A member on the way does not exist, or a scalar is in the way.
        case pathNotFound
        /// An array position that is not an index, such as "01" or "x".
        case invalidArrayIndex
        /// An array index beyond the end (or "-" where an element must exist).
        case indexOutOfRange
        /// A `test` operation found a different value.
        case testFailed
        /// The result would nest arrays and objects deeper than the parser accepts.
        case tooDeep
    }

    public var code: Code
    /// Position of the failing operation in the patch; nil when the patch as
    /// a whole is wrong.
    public var operationIndex: Int?
    /// The operation's `op`, when it is a string.
    public var op: String?
    /// The pointer the failure is about: the operation's `path`, or its
    /// `from` when the source of a move or copy is at fault.
    public var path: String?
    /// What was wrong, for a person.
    public var reason: String

    public init(code: Code, operationIndex: Int? = nil, op: String? = nil, path: String? = nil, reason: String) {
        self.code = code
        self.operationIndex = operationIndex
        self.op = op
        self.path = path
        self.reason = reason
    }

    public var description: String {
        var text = "JSON patch"
        if let operationIndex { text += " operation \(operationIndex)" }
        if let op { text += " (\(op)" + (path.map { " \"\($0)\"" } ?? "") + ")" } else if let path { text += " (\"\(path)\")" }
        return text + ": " + reason
    }
}
