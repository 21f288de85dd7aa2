import JSONValue
import RouteletAPI
import Schema

extension APIHandler {
    /// Checks an object before it is stored: metadata, the CRD schema,
    /// unknown fields (as `fieldValidation` asks: Strict rejects, Warn warns,
    /// Ignore drops them silently) and routelet's semantic rules. Returns the
    /// object with unknown fields pruned, and the warnings to send.
    func validate(_ object: JSONValue, _ resource: ResourceType, name: String,
                  request: APIRequest) throws -> (JSONValue, [String]) {
        var causes: [StatusError.Cause] = []
        var warnings: [String] = []

        if name.isEmpty {
            causes.append(.init(reason: "FieldValueRequired", message: "Required value: name or generateName is required", field: "metadata.name"))
        } else if let problem = Self.nameProblem(name) {
            causes.append(.init(reason: "FieldValueInvalid", message: "Invalid value: \"\(name)\": \(problem)", field: "metadata.name"))
        }
        if let metadata = object["metadata"], metadata.objectValue == nil {
            causes.append(.init(reason: "FieldValueTypeInvalid", message: "Invalid value: metadata must be an object", field: "metadata"))
        }

        var pruned = object
        if let schema = resource.schema {
            for violation in schema.validate(object) {
                causes.append(.init(reason: violation.reason.rawValue, message: violation.message, field: violation.path))
            }
            let unknown = schema.unknownFields(in: object)
            if !unknown.isEmpty {
                switch request.query["fieldValidation"] ?? "Warn" {
                case "Strict":
                    throw StatusError.badRequest("strict decoding error: " + unknown.map { "unknown field \"\($0)\"" }.joined(separator: ", "))
                case "Ignore":
                    break
                default:
                    warnings += unknown.map { "unknown field \"\($0)\"" }
                }
                pruned = schema.pruned(object)
            }
        }
        if causes.isEmpty, let check = resource.semanticCheck {
            causes += check(pruned)
        }
        guard causes.isEmpty else { throw StatusError.invalid(resource, name, causes) }
        return (pruned, warnings)
    }

    /// Why `name` is not a DNS-1123 subdomain, as object names must be.
    static func nameProblem(_ name: String) -> String? {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-.")
        guard name.count <= 253 else { return "must be no more than 253 characters" }
        guard name.allSatisfy({ allowed.contains($0) }),
              let first = name.first, let last = name.last, first.isLetter || first.isNumber, last.isLetter || last.isNumber else {
            return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        }
        return nil
    }
}

extension ResourceType {
    /// routelet's checks for a RouteTable: the same rules the agent applies,
    /// reported per field (`spec.routes[3].destination`).
    static let routeTableCheck: @Sendable (JSONValue) -> [StatusError.Cause] = { object in
        let table: RouteTable
        do throws(ResourceDecodingError) {
            table = try RouteTable.decode(from: object)
        } catch {
            return [.init(reason: "FieldValueTypeInvalid", message: "Invalid value: \(error.message)", field: error.path)]
        }
        return table.validate().map { .init(reason: "FieldValueInvalid", message: "Invalid value: \($0.message)", field: $0.path) }
    }

    /// routelet's checks for a GatewayRoute: the same rules the agent
    /// applies, reported per field (`spec.rules[0].matches[1].path.value`).
    static let gatewayRouteCheck: @Sendable (JSONValue) -> [StatusError.Cause] = { object in
        let route: GatewayRoute
        do throws(ResourceDecodingError) {
            route = try GatewayRoute.decode(from: object)
        } catch {
            return [.init(reason: "FieldValueTypeInvalid", message: "Invalid value: \(error.message)", field: error.path)]
        }
        return route.validate().map { .init(reason: "FieldValueInvalid", message: "Invalid value: \($0.message)", field: $0.path) }
    }

    /// routelet's semantic check for a kind served from a CRD, if it has one.
    static func semanticCheck(forKind kind: String) -> (@Sendable (JSONValue) -> [StatusError.Cause])? {
        switch kind {
        case RouteTable.kind: routeTableCheck
        case GatewayRoute.kind: gatewayRouteCheck
        case RouteletNode.kind: routeletNodeCheck
        default: nil
        }
    }

    /// A RouteletNode must decode as one.
    static let routeletNodeCheck: @Sendable (JSONValue) -> [StatusError.Cause] = { object in
        do throws(ResourceDecodingError) {
            _ = try RouteletNode.decode(from: object)
            return []
        } catch {
            return [.init(reason: "FieldValueTypeInvalid", message: "Invalid value: \(error.message)", field: error.path)]
        }
    }
}
