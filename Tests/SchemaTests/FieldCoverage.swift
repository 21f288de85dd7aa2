import JSONValue
import Schema

/// Tools for comparing a schema with a Swift type, field by field.
enum FieldCoverage {
    /// Every leaf of a value (scalars, empty objects, empty lists) by path,
    /// like `spec.routes[0].metric`.
    static func leaves(of value: JSONValue) -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        func walk(_ value: JSONValue, _ path: String) {
            switch value {
            case .object(let object) where !object.isEmpty:
                for (key, member) in object { walk(member, path.isEmpty ? key : "\(path).\(key)") }
            case .array(let elements) where !elements.isEmpty:
                for (index, element) in elements.enumerated() { walk(element, "\(path)[\(index)]") }
            default:
                result[path] = value
            }
        }
        walk(value, "")
        return result
    }

    /// A document holding every property the schema declares, lists of one
    /// element, map entries of one key, and values that pass the schema and
    /// differ from the Swift types' defaults (integers above their minimum,
    /// strings not empty), so that a field Swift does not read shows.
    static func example(for schema: StructuralSchema, apiVersion: String, kind: String) -> JSONValue {
        func generate(_ schema: StructuralSchema, _ path: String) -> JSONValue {
            if let first = schema.enumValues?.first { return first }
            switch schema.type {
            case .object?:
                var object = JSONObject()
                for name in schema.propertyNames {
                    switch (path, name) {
                    case ("", "apiVersion"): object[name] = .string(apiVersion)
                    case ("", "kind"): object[name] = .string(kind)
                    case ("", "metadata"): object[name] = ["name": "x"]
                    default: object[name] = generate(schema.properties[name]!, path.isEmpty ? name : "\(path).\(name)")
                    }
                }
                if case .schema(let entry)? = schema.additionalProperties {
                    object["example.com/key"] = generate(entry, "\(path).key")
                }
                return .object(object)
            case .array?:
                return [generate(schema.items!, "\(path)[0]")]
            case .string?:
                if schema.format == "date-time" { return "2024-05-01T10:00:00Z" }
                return .string(String(repeating: "x", count: max(1, schema.minLength ?? 1)))
            case .integer?:
                var low: Int64 = 0
                if case .integer(let minimum)? = schema.minimum { low = minimum }
                if case .integer(let maximum)? = schema.maximum, low + 1 > maximum { return .integer(low) }
                return .integer(low + 1)
            case .number?:
                return 1.5
            case .boolean?:
                return true
            case nil:
                return schema.isIntOrString ? 1 : [:]
            }
        }
        return generate(schema, "")
    }

    /// Leaves of `generated` that are missing from, or different in, `reencoded`.
    static func dropped(generated: JSONValue, reencoded: JSONValue) -> [String] {
        let after = leaves(of: reencoded)
        return leaves(of: generated).filter { after[$0.key] != $0.value }.keys.sorted()
    }

    /// What a walk over a Swift value (by reflection) found: properties that
    /// are nil or empty everywhere in it, and optional properties that the
    /// schema marks required.
    struct ReflectionReport {
        var neverSet: [String]
        var optionalButRequired: [String]
    }

    /// Walks `value` alongside `schema`; property names are the Swift names,
    /// which are the JSON names in routelet's types. `metadata` is skipped.
    static func reflect(_ value: Any, schema: StructuralSchema) -> ReflectionReport {
        var set: Set<String> = [], unset: Set<String> = [], optionalButRequired: Set<String> = []
        func walk(_ value: Any, _ path: String, _ schema: StructuralSchema?) {
            let mirror = Mirror(reflecting: value)
            switch mirror.displayStyle {
            case .optional?:
                guard let wrapped = mirror.children.first else {
                    unset.insert(path)
                    return
                }
                set.insert(path)
                walk(wrapped.value, path, schema)
            case .collection?:
                if mirror.children.isEmpty { unset.insert(path) } else { set.insert(path) }
                for child in mirror.children { walk(child.value, "\(path)[]", schema?.items) }
            case .dictionary?:
                if mirror.children.isEmpty { unset.insert(path) } else { set.insert(path) }
                var entrySchema: StructuralSchema?
                if case .schema(let entry)? = schema?.additionalProperties { entrySchema = entry }
                for child in mirror.children {
                    // Each child is a (key, value) pair.
                    if let entry = Mirror(reflecting: child.value).children.dropFirst().first {
                        walk(entry.value, "\(path){}", entrySchema)
                    }
                }
            case .struct?:
                // A RawRepresentable wrapper such as RouteType is a string in JSON.
                if let type = schema?.type, type != .object { return }
                for child in mirror.children {
                    guard let label = child.label else { continue }
                    let childPath = path.isEmpty ? label : "\(path).\(label)"
                    if childPath == "metadata" { continue }
                    if Mirror(reflecting: child.value).displayStyle == .optional, schema?.required.contains(label) == true {
                        optionalButRequired.insert(childPath)
                    }
                    walk(child.value, childPath, schema?.properties[label])
                }
            default:
                return
            }
        }
        walk(value, "", schema)
        return ReflectionReport(neverSet: unset.subtracting(set).sorted(), optionalButRequired: optionalButRequired.sorted())
    }

    /// `json` with the member at `keys` replaced by `transform`'s result
    /// (nil removes it); for editing a schema document in a test.
    static func updating(_ json: JSONValue, at keys: [String], _ transform: (JSONValue?) -> JSONValue?) -> JSONValue {
        guard let first = keys.first, case .object(var object) = json else { return transform(json) ?? .null }
        if keys.count == 1 {
            object[first] = transform(object[first])
        } else if let member = object[first] {
            object[first] = updating(member, at: Array(keys.dropFirst()), transform)
        }
        return .object(object)
    }
}
