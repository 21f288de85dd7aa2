/// JSON Merge Patch (RFC 7386), the body of `application/merge-patch+json`
/// requests such as `kubectl patch --type=merge`.
extension JSONValue {
    /// This value with `patch` applied as an RFC 7386 merge patch: a null
    /// member deletes, an object member merges recursively, anything else
    /// (including a patch that is not an object) replaces.
    public func mergePatched(with patch: JSONValue) -> JSONValue {
        guard case .object(let patchMembers) = patch else { return patch }
        // A non-object target is treated as an empty object (RFC 7386 section 2).
        var result = objectValue ?? JSONObject()
        for (key, patchValue) in patchMembers {
            if patchValue.isNull {
                result[key] = nil
            } else {
                result[key] = (result[key] ?? .null).mergePatched(with: patchValue)
            }
        }
        return .object(result)
    }

    /// A merge patch that turns `old` into `new`, so that
    /// `old.mergePatched(with: mergePatch(from: old, to: new)) == new`.
    ///
    /// A merge patch cannot set a member to null (null means "delete"), so a
    /// null member inside an object of `new` is lost on the way; arrays are
    /// always replaced whole.
    public static func mergePatch(from old: JSONValue, to new: JSONValue) -> JSONValue {
        guard case .object(let oldMembers) = old, case .object(let newMembers) = new else {
            return new
        }
        var patch = JSONObject()
        for (key, _) in oldMembers where newMembers[key] == nil {
            patch[key] = .null
        }
        for (key, newValue) in newMembers {
            guard let oldValue = oldMembers[key] else {
                patch[key] = newValue
                continue
            }
            if oldValue == newValue { continue }
            if case .object = oldValue, case .object = newValue {
                patch[key] = mergePatch(from: oldValue, to: newValue)
            } else {
                patch[key] = newValue
            }
        }
        return .object(patch)
    }
}
