/// Why a YAML text could not be read, and where: 1-based line and column of
/// the problem, as editors count them.
public struct YAMLError: Error, CustomStringConvertible, Sendable, Equatable {
    public var line: Int
    public var column: Int
    /// What is wrong, e.g. "did not find expected key".
    public var message: String
    /// What the parser was doing, when libyaml says, e.g.
    /// "while parsing a block mapping at line 1, column 1".
    public var context: String?

    public init(line: Int, column: Int, message: String, context: String? = nil) {
        self.line = line
        self.column = column
        self.message = message
        self.context = context
    }

    init(at position: Position, _ message: String) {
        self.init(line: position.line, column: position.column, message: message)
    }

    public var description: String { "line \(line), column \(column): \(message)" }
}
