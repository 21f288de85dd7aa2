import JSONValue

/// A request that failed, as the Kubernetes API reports it: a `Status`
/// object with an HTTP code, a CamelCase reason, a message, and for
/// validation failures one cause per field.
public struct StatusError: Error, Sendable, CustomStringConvertible {
    public struct Cause: Sendable, Hashable {
        public var reason: String      // FieldValueInvalid, FieldValueRequired, ...
        public var message: String
        public var field: String

        public init(reason: String, message: String, field: String) {
            self.reason = reason
            self.message = message
            self.field = field
        }
    }

    public var code: Int
    public var reason: String
    public var message: String
    public var details: (name: String?, group: String?, kind: String?)?
    public var causes: [Cause] = []

    public init(code: Int, reason: String, message: String, name: String? = nil, group: String? = nil, kind: String? = nil,
                causes: [Cause] = []) {
        self.code = code
        self.reason = reason
        self.message = message
        if name != nil || group != nil || kind != nil || !causes.isEmpty { details = (name, group, kind) }
        self.causes = causes
    }

    public var description: String { "\(code) \(reason): \(message)" }

    public var status: JSONValue {
        var object: JSONObject = [
            "kind": "Status", "apiVersion": "v1", "metadata": .object([:]), "status": "Failure",
            "message": .string(message), "reason": .string(reason), "code": .integer(Int64(code)),
        ]
        if let details {
            var detailObject = JSONObject()
            if let name = details.name { detailObject["name"] = .string(name) }
            if let group = details.group { detailObject["group"] = .string(group) }
            if let kind = details.kind { detailObject["kind"] = .string(kind) }
            if !causes.isEmpty {
                detailObject["causes"] = .array(causes.map {
                    .object(["reason": .string($0.reason), "message": .string($0.message), "field": .string($0.field)])
                })
            }
            object["details"] = .object(detailObject)
        }
        return .object(object)
    }

    // MARK: The errors the server gives

    static func badRequest(_ message: String) -> StatusError { StatusError(code: 400, reason: "BadRequest", message: message) }
    static func unauthorized() -> StatusError { StatusError(code: 401, reason: "Unauthorized", message: "Unauthorized") }
    static func notFound(_ resource: ResourceType, _ name: String) -> StatusError {
        StatusError(code: 404, reason: "NotFound", message: "\(resource.qualifiedPlural) \"\(name)\" not found",
                    name: name, group: resource.group, kind: resource.plural)
    }
    static func pathNotFound(_ path: String) -> StatusError {
        StatusError(code: 404, reason: "NotFound", message: "the server could not find the requested resource (\(path))")
    }
    static func alreadyExists(_ resource: ResourceType, _ name: String) -> StatusError {
        StatusError(code: 409, reason: "AlreadyExists", message: "\(resource.qualifiedPlural) \"\(name)\" already exists",
                    name: name, group: resource.group, kind: resource.plural)
    }
    static func conflict(_ resource: ResourceType, _ name: String) -> StatusError {
        StatusError(code: 409, reason: "Conflict",
                    message: "Operation cannot be fulfilled on \(resource.qualifiedPlural) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again",
                    name: name, group: resource.group, kind: resource.plural)
    }
    static func methodNotAllowed(_ method: String, _ path: String) -> StatusError {
        StatusError(code: 405, reason: "MethodNotAllowed", message: "the server does not allow this method on the requested resource (\(method) \(path))")
    }
    static func gone(_ message: String) -> StatusError { StatusError(code: 410, reason: "Expired", message: message) }
    static func tooLarge(_ limit: Int) -> StatusError {
        StatusError(code: 413, reason: "RequestEntityTooLarge", message: "the request body is larger than \(limit) bytes")
    }
    static func unsupportedMediaType(_ type: String) -> StatusError {
        StatusError(code: 415, reason: "UnsupportedMediaType", message: "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/merge-patch+json, application/json-patch+json (got \(type))")
    }
    static func invalid(_ resource: ResourceType, _ name: String, _ causes: [Cause]) -> StatusError {
        let kind = resource.group.isEmpty ? resource.kind : "\(resource.kind).\(resource.group)"
        let fields = causes.prefix(20).map { $0.field.isEmpty ? $0.message : "\($0.field): \($0.message)" }
        let summary = fields.count == 1 ? fields[0] : "[\(fields.joined(separator: ", "))]"
        return StatusError(code: 422, reason: "Invalid", message: "\(kind) \"\(name)\" is invalid: \(summary)",
                           name: name, group: resource.group, kind: resource.kind, causes: causes)
    }
    static func internalError(_ message: String) -> StatusError {
        StatusError(code: 500, reason: "InternalError", message: "Internal error occurred: \(message)")
    }
}
