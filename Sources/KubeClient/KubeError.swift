import Foundation
import JSONValue

/// A request to the Kubernetes API that failed, and why. The description
/// always names the request: "PUT https://10.0.0.1/apis/...: 409 Conflict: ...".
public struct KubeError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// No HTTP answer: connection refused, DNS, TLS, timeout (curl's code).
        case transport(code: Int, tls: Bool)
        /// The connection went quiet for longer than the silence limit.
        case silent
        /// The server answered with an error status (a `Status` object's reason, if any).
        case status(code: Int, reason: String?)
        /// The answer could not be decoded.
        case decoding
        case cancelled
    }

    /// "GET https://host:6443/api/v1/nodes"
    public var request: String
    public var kind: Kind
    public var message: String

    public init(request: String, kind: Kind, message: String) {
        self.request = request
        self.kind = kind
        self.message = message
    }

    /// An error answer, with the message of its `Status` body when there is one.
    init(request: String, status: Int, body: Data) {
        let object = try? JSONValue(jsonData: body)
        let reason = object?["reason"]?.stringValue
        var message = "\(status) \(Self.statusText[status] ?? "Error")"
        if let text = object?["message"]?.stringValue, !text.isEmpty {
            message += ": \(text)"
        } else if object == nil, !body.isEmpty {
            message += ": \(String(decoding: body.prefix(200), as: UTF8.self))"
        }
        self.init(request: request, kind: .status(code: status, reason: reason), message: message)
    }

    public var description: String { "\(request): \(message)" }

    static let statusText: [Int: String] = [
        400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
        409: "Conflict", 410: "Gone", 413: "Request Entity Too Large", 415: "Unsupported Media Type",
        422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
        503: "Service Unavailable", 504: "Gateway Timeout",
    ]

    /// The HTTP status, when the server answered.
    public var statusCode: Int? {
        if case .status(let code, _) = kind { return code }
        return nil
    }

    public var isNotFound: Bool { statusCode == 404 }
    public var isConflict: Bool { statusCode == 409 }
    public var isAlreadyExists: Bool { statusCode == 409 && reason == "AlreadyExists" }
    /// 410 Gone: the resourceVersion asked for is older than the server keeps.
    public var isGone: Bool { statusCode == 410 || reason == "Expired" || reason == "Gone" }
    public var isTLS: Bool {
        if case .transport(_, let tls) = kind { return tls }
        return false
    }

    var reason: String? {
        if case .status(_, let reason) = kind { return reason }
        return nil
    }
}
