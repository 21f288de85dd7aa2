/// Why a JSON document could not be decoded into a resource type, naming
/// the field, e.g. `spec.routes[0].metric: expected an integer, got "ten"`.
public struct ResourceDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The field path; empty when the problem is the document as a whole.
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}
