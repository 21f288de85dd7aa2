/// Why a store operation failed. The cases map onto Kubernetes status codes
/// upstream: 409 AlreadyExists, 404, 409 Conflict, 410 Expired, 400, 500.
public enum StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A create found an object under the key.
    case alreadyExists
    /// The key holds no object.
    case notFound
    /// The caller's expected resourceVersion is stale; `current` is the stored one.
    case conflict(current: Int64)
    /// The requested version is older than the retained history; `oldest` is
    /// the oldest version still retained (a watch or continue may resume from `oldest - 1`).
    case expired(oldest: Int64)
    /// A continue token that this store did not produce.
    case badContinueToken
    /// The object can't be stored: not a JSON object, `metadata` not an
    /// object, or a value JSON can't express (a non-finite number).
    case invalidObject(String)
    /// SQLite failed; the text names the operation and carries SQLite's message.
    case storage(String)

    public var description: String {
        switch self {
        case .alreadyExists: return "object already exists"
        case .notFound: return "object not found"
        case .conflict(let current):
            return "conflict: the object has been modified; its current resourceVersion is \(current)"
        case .expired(let oldest):
            return "too old resource version: the oldest retained version is \(oldest)"
        case .badContinueToken: return "malformed continue token"
        case .invalidObject(let reason): return "invalid object: \(reason)"
        case .storage(let message): return "storage failure: \(message)"
        }
    }
}
