import Foundation
import JSONValue

extension StructuralSchema {
    /// Every way `value` breaks this schema, in field order, worded as
    /// kube-apiserver words them. Fields the schema does not declare are not
    /// reported here (see ``unknownFields(in:at:)``); CEL rules are not run.
    ///
    /// With an empty `path` the value is a whole resource: its `metadata` is
    /// only checked to be an object (the server validates ObjectMeta itself).
    /// A value nested more than ``maxDepth`` levels gets one violation and
    /// nothing else, since it is rejected anyway.
    public func validate(_ value: JSONValue, at path: String = "") -> [SchemaViolation] {
        if let (steps, node) = ValueDepth.firstNodeBeyond(Self.maxDepth, in: value) {
            let where_ = ValueDepth.render(steps, after: path)
            return [SchemaViolation(
                path: where_, reason: .invalid,
                message: "Invalid value: \(goQuoted(jsonTypeName(node))): \(subject(where_)) is nested more than \(Self.maxDepth) levels deep")]
        }
        var violations: [SchemaViolation] = []
        check(value, path: path, isResource: path.isEmpty, into: &violations)
        return violations
    }

    /// The schema's type as a message names it.
    var expectedTypeName: String {
        if isIntOrString { return "integer,string" }
        return type?.rawValue ?? "any"
    }

    // Recursion follows the schema, whose depth the initializer bounds.
    private func check(_ value: JSONValue, path: String, isResource: Bool, into out: inout [SchemaViolation]) {
        if case .null = value {
            if nullable || (type == nil && !isIntOrString) { return }
            out.append(typeViolation(path: path, value: value))
            return
        }
        if isIntOrString {
            guard value.stringValue != nil || Self.value(value, hasType: .integer) else {
                out.append(typeViolation(path: path, value: value))
                return
            }
        } else if let type, !Self.value(value, hasType: type) {
            out.append(typeViolation(path: path, value: value))
            return
        }

        if let enumValues, !enumValues.contains(where: { sameValue($0, value) }) {
            out.append(SchemaViolation(
                path: path, reason: .notSupported,
                message: "Unsupported value: \(valueText(value)): supported values: \(enumValues.map(valueText).joined(separator: ", "))"))
        }

        switch value {
        case .string(let text):
            checkString(text, path: path, into: &out)
        case .integer, .double:
            checkNumber(value, path: path, into: &out)
        case .array(let elements):
            checkArray(elements, path: path, into: &out)
        case .object(let object):
            checkObject(object, path: path, isResource: isResource || isEmbeddedResource, into: &out)
        case .null, .bool:
            break
        }
    }

    private func checkString(_ text: String, path: String, into out: inout [SchemaViolation]) {
        // Kubernetes counts characters (Unicode scalars), not bytes.
        let length = text.unicodeScalars.count
        if let maxLength, length > maxLength {
            out.append(SchemaViolation(path: path, reason: .tooLong, message: "Too long: may not be longer than \(maxLength)"))
        }
        if let minLength, length < minLength {
            out.append(invalid(path, .string(text), "should be at least \(minLength) chars long"))
        }
        if let compiledPattern, let pattern,
           compiledPattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil {
            out.append(invalid(path, .string(text), "should match '\(pattern)'"))
        }
        if let format, !StringFormat.isValid(text, format: format) {
            out.append(invalid(path, .string(text), "must be of type \(format): \(goQuoted(text))"))
        }
    }

    private func checkNumber(_ value: JSONValue, path: String, into out: inout [SchemaViolation]) {
        if let minimum {
            let order = compare(value, minimum)
            if order < 0 || (exclusiveMinimum && order == 0) {
                let relation = exclusiveMinimum ? "greater than" : "greater than or equal to"
                out.append(invalid(path, value, "should be \(relation) \(minimum)"))
            }
        }
        if let maximum {
            let order = compare(value, maximum)
            if order > 0 || (exclusiveMaximum && order == 0) {
                let relation = exclusiveMaximum ? "less than" : "less than or equal to"
                out.append(invalid(path, value, "should be \(relation) \(maximum)"))
            }
        }
        if let multipleOf {
            let isMultiple: Bool
            if case .integer(let number) = value, case .integer(let divisor) = multipleOf {
                isMultiple = number % divisor == 0
            } else {
                let quotient = (value.doubleValue ?? 0) / multipleOf.doubleValue
                isMultiple = quotient.isFinite && quotient == quotient.rounded()
            }
            if !isMultiple { out.append(invalid(path, value, "should be a multiple of \(multipleOf)")) }
        }
    }

    private func checkArray(_ elements: [JSONValue], path: String, into out: inout [SchemaViolation]) {
        if let maxItems, elements.count > maxItems {
            out.append(SchemaViolation(
                path: path, reason: .tooMany, message: "Too many: \(elements.count): must have at most \(maxItems) items"))
        }
        if let minItems, elements.count < minItems {
            out.append(invalid(path, .integer(Int64(elements.count)), "should have at least \(minItems) items"))
        }
        if let items {
            for (index, element) in elements.enumerated() {
                items.check(element, path: "\(path)[\(index)]", isResource: false, into: &out)
            }
        }
        switch listType {
        case .set?:
            var seen: Set<JSONValue> = []
            for (index, element) in elements.enumerated() where !seen.insert(element).inserted {
                out.append(SchemaViolation(path: "\(path)[\(index)]", reason: .duplicate, message: "Duplicate value: \(valueText(element))"))
            }
        case .map?:
            var seen: Set<JSONValue> = []
            for (index, element) in elements.enumerated() {
                guard case .object(let object) = element else { continue }
                var key = JSONObject()
                for name in listMapKeys {
                    // A missing key is reported as required; the entry is not compared.
                    guard let member = object[name] else { break }
                    key[name] = member
                }
                guard key.count == listMapKeys.count else { continue }
                if !seen.insert(.object(key)).inserted {
                    out.append(SchemaViolation(
                        path: "\(path)[\(index)]", reason: .duplicate, message: "Duplicate value: \(valueText(.object(key)))"))
                }
            }
        case .atomic?, nil:
            break
        }
    }

    private func checkObject(_ object: JSONObject, path: String, isResource: Bool, into out: inout [SchemaViolation]) {
        if let maxProperties, object.count > maxProperties {
            out.append(invalid(path, .integer(Int64(object.count)), "should have at most \(maxProperties) properties"))
        }
        if let minProperties, object.count < minProperties {
            out.append(invalid(path, .integer(Int64(object.count)), "should have at least \(minProperties) properties"))
        }
        let required = Set(required)
        for name in propertyNames {
            let memberPath = joined(path, name)
            guard let member = object[name] else {
                if required.contains(name) {
                    out.append(SchemaViolation(path: memberPath, reason: .required, message: "Required value"))
                }
                continue
            }
            if isResource, name == "metadata" {
                if member.objectValue == nil { out.append(typeViolation(path: memberPath, value: member, expected: "object")) }
                continue
            }
            properties[name]?.check(member, path: memberPath, isResource: false, into: &out)
        }
        if case .schema(let entrySchema) = additionalProperties {
            for (key, member) in object where properties[key] == nil {
                entrySchema.check(member, path: joined(path, key), isResource: false, into: &out)
            }
        }
    }

    private func typeViolation(path: String, value: JSONValue, expected: String? = nil) -> SchemaViolation {
        let actual = goQuoted(jsonTypeName(value))
        return SchemaViolation(
            path: path, reason: .typeInvalid,
            message: "Invalid value: \(actual): \(subject(path)) must be of type \(expected ?? expectedTypeName): \(actual)")
    }

    private func invalid(_ path: String, _ value: JSONValue, _ detail: String) -> SchemaViolation {
        SchemaViolation(path: path, reason: .invalid, message: "Invalid value: \(valueText(value)): \(subject(path)) \(detail)")
    }

    /// Whether a (non-null) value is of an OpenAPI type; a whole double counts as an integer.
    static func value(_ value: JSONValue, hasType type: ValueType) -> Bool {
        switch (type, value) {
        case (.object, .object), (.array, .array), (.string, .string), (.boolean, .bool), (.integer, .integer),
             (.number, .integer), (.number, .double):
            return true
        case (.integer, .double(let number)):
            return number.isFinite && number == number.rounded()
        default:
            return false
        }
    }
}

/// "spec.routes[0].metric in body", as kube-openapi names the field in a message.
func subject(_ path: String) -> String {
    path.isEmpty ? "body" : "\(path) in body"
}

/// `path.member`, or just `member` at the top.
func joined(_ path: String, _ member: String) -> String {
    path.isEmpty ? member : "\(path).\(member)"
}

/// Equality for `enum`, where 1 and 1.0 are the same number.
private func sameValue(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
    if let left = lhs.doubleValue, let right = rhs.doubleValue {
        if case .integer(let a) = lhs, case .integer(let b) = rhs { return a == b }
        return left == right
    }
    return lhs == rhs
}

/// -1, 0 or 1 as a number is below, at or above a bound; exact for integers.
private func compare(_ value: JSONValue, _ bound: StructuralSchema.Number) -> Int {
    if case .integer(let number) = value, case .integer(let limit) = bound {
        return number < limit ? -1 : (number > limit ? 1 : 0)
    }
    let number = value.doubleValue ?? 0
    let limit = bound.doubleValue
    return number < limit ? -1 : (number > limit ? 1 : 0)
}
