import Foundation
import JSONValue

/// What a request gets back, before it is written to the wire.
public struct APIResponse: Sendable {
    public enum Body: Sendable {
        case json(JSONValue)
        /// A watch: JSON lines, written as they come.
        case stream(AsyncStream<JSONValue>)
    }

    public var status: Int
    public var headers: [(String, String)] = []
    public var body: Body

    static func json(_ value: JSONValue, status: Int = 200, warnings: [String] = []) -> APIResponse {
        APIResponse(status: status, headers: warnings.map { ("Warning", "299 - \"\($0.replacingOccurrences(of: "\"", with: "\\\""))\"") },
                    body: .json(value))
    }

    static func error(_ error: StatusError) -> APIResponse {
        APIResponse(status: error.code, body: .json(error.status))
    }
}

/// The parts of an HTTP request the API logic looks at.
public struct APIRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    /// Header names in lower case.
    public var headers: [String: String]
    public var body: Data?

    public init(method: String, path: String, query: [String: String], headers: [String: String], body: Data?) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// Whether the client asked for a Table (kubectl get).
    var wantsTable: Bool { (headers["accept"] ?? "").contains("as=Table") }

    var contentType: String {
        (headers["content-type"] ?? "application/json").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }

    /// A boolean query parameter, parsed as Go's strconv.ParseBool does.
    func flag(_ name: String) -> Bool { ["1", "t", "true"].contains(query[name]?.lowercased() ?? "") }
}
