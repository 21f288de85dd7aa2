import JSONValue

extension StructuralSchema {
    /// The members at the top of a resource that every schema declares
    /// implicitly; `metadata` is ObjectMeta, which the server checks itself.
    static let resourceMembers: Set<String> = ["apiVersion", "kind", "metadata"]

    /// Paths of the fields in `value` that the schema does not declare, like
    /// `spec.routes[0].foo`, in document order: what `fieldValidation=Strict`
    /// rejects as `unknown field "spec.routes[0].foo"`. Nothing under an
    /// object with `x-kubernetes-preserve-unknown-fields` is unknown; with an
    /// empty `path`, `apiVersion`, `kind` and `metadata` are always known.
    public func unknownFields(in value: JSONValue, at path: String = "") -> [String] {
        var paths: [String] = []
        collectUnknown(value, path: path, isResource: path.isEmpty, into: &paths)
        return paths
    }

    /// `value` without the fields the schema does not declare, as
    /// kube-apiserver stores a custom resource. Values of the wrong type are
    /// left as they are, for validation to report.
    public func pruned(_ value: JSONValue) -> JSONValue {
        prune(value, isResource: true)
    }

    // Both walks follow the schema, whose depth the initializer bounds; what
    // lies below the schema's leaves is not visited.
    private func collectUnknown(_ value: JSONValue, path: String, isResource: Bool, into paths: inout [String]) {
        switch value {
        case .object(let object) where type == .object:
            let isResource = isResource || isEmbeddedResource
            for (key, member) in object {
                let memberPath = joined(path, key)
                if isResource, Self.resourceMembers.contains(key) {
                    if key != "metadata" { properties[key]?.collectUnknown(member, path: memberPath, isResource: false, into: &paths) }
                } else if let schema = properties[key] {
                    schema.collectUnknown(member, path: memberPath, isResource: false, into: &paths)
                } else if case .schema(let entrySchema) = additionalProperties {
                    entrySchema.collectUnknown(member, path: memberPath, isResource: false, into: &paths)
                } else if !keepsUnknownMembers {
                    paths.append(memberPath)
                }
            }
        case .array(let elements) where type == .array:
            guard let items else { return }
            for (index, element) in elements.enumerated() {
                items.collectUnknown(element, path: "\(path)[\(index)]", isResource: false, into: &paths)
            }
        default:
            break
        }
    }

    private func prune(_ value: JSONValue, isResource: Bool) -> JSONValue {
        switch value {
        case .object(let object) where type == .object:
            let isResource = isResource || isEmbeddedResource
            var result = JSONObject()
            for (key, member) in object {
                if isResource, Self.resourceMembers.contains(key) {
                    result[key] = key == "metadata" ? member : (properties[key]?.prune(member, isResource: false) ?? member)
                } else if let schema = properties[key] {
                    result[key] = schema.prune(member, isResource: false)
                } else if case .schema(let entrySchema) = additionalProperties {
                    result[key] = entrySchema.prune(member, isResource: false)
                } else if keepsUnknownMembers {
                    result[key] = member
                }
            }
            return .object(result)
        case .array(let elements) where type == .array:
            guard let items else { return value }
            return .array(elements.map { items.prune($0, isResource: false) })
        default:
            return value
        }
    }

    private var keepsUnknownMembers: Bool {
        if preservesUnknownFields { return true }
        if case .allowed(true) = additionalProperties { return true }
        return false
    }
}
