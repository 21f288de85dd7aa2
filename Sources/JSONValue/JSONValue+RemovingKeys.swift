/// Dropping server-managed fields, so two versions of an object can be
/// compared for what a user actually changed.
extension JSONValue {
    /// This value without the members named by `paths`, each a list of object
    /// keys from the root (e.g. `["metadata", "resourceVersion"]`).
    ///
    /// A path that runs into a missing member or a non-object is ignored, as
    /// is an empty path; arrays are not descended into.
    public func removingKeys(_ paths: [[String]]) -> JSONValue {
        var result = self
        for path in paths where !path.isEmpty {
            result.removeKey(path[...])
        }
        return result
    }

    private mutating func removeKey(_ path: ArraySlice<String>) {
        guard case .object(var object) = self, let key = path.first else { return }
        if path.count == 1 {
            guard object[key] != nil else { return }
            object[key] = nil
        } else {
            guard var child = object[key] else { return }
            child.removeKey(path.dropFirst())
            object[key] = child
        }
        self = .object(object)
    }
}
