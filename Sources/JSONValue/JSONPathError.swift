/// Why a JSONPath expression (a printer column's `jsonPath`, or a
/// `-o jsonpath` template) could not be parsed, and where.
public struct JSONPathError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable {
        /// Not valid JSONPath.
        case syntax
        /// Valid Kubernetes JSONPath, but outside the subset implemented here
        /// (recursive descent, slices, unions, ordering operators, ...).
        case unsupported
    }

    public var code: Code
    /// The expression as given.
    public var expression: String
    /// Character offset of the problem in `expression`.
    public var position: Int
    public var reason: String

    public init(code: Code, expression: String, position: Int, reason: String) {
        self.code = code
        self.expression = expression
        self.position = position
        self.reason = reason
    }

    public var description: String {
        "JSONPath \"\(expression)\" at offset \(position): \(reason)"
    }
}
