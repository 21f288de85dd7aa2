extension JSONValue {
    /// The value at a path of object keys, if every step exists.
    public func value(at path: [String]) -> JSONValue? {
        var current: JSONValue? = self
        for key in path { current = current?[key] }
        return current
    }

    /// A copy with the value at `path` replaced (nil removes it); missing
    /// objects along the path are created.
    public func setting(_ path: [String], to newValue: JSONValue?) -> JSONValue {
        guard let key = path.first else { return newValue ?? .null }
        var object = objectValue ?? JSONObject()
        if path.count == 1 {
            object[key] = newValue
        } else {
            object[key] = (object[key] ?? .object([:])).setting(Array(path.dropFirst()), to: newValue)
        }
        return .object(object)
    }

    /// A string member of a Kubernetes object's metadata.
    public func metadata(_ key: String) -> String? { self["metadata"]?[key]?.stringValue }

    /// A Kubernetes object's `metadata.labels`, as strings (other values,
    /// which an API server would not accept, are left out).
    public var labels: [String: String] {
        var result: [String: String] = [:]
        for (key, value) in self["metadata"]?["labels"]?.objectValue ?? [:] {
            if let text = value.stringValue { result[key] = text }
        }
        return result
    }
}
