/// The `apiVersion` and `kind` every object starts with, checked against
/// what a type expects.
enum TypeMeta {
    /// Problems with `apiVersion` and `kind`: missing, or not the expected ones.
    static func validate(apiVersion: String, kind: String, expectedAPIVersion: String, expectedKind: String) -> [FieldError] {
        var errors: [FieldError] = []
        if apiVersion != expectedAPIVersion {
            let what = apiVersion.isEmpty ? "apiVersion is required" : "\(quoted(apiVersion)) is not supported"
            errors.append(FieldError(path: "apiVersion", message: "\(what) (expected \"\(expectedAPIVersion)\")"))
        }
        if kind != expectedKind {
            let what = kind.isEmpty ? "kind is required" : "\(quoted(kind)) is not supported"
            errors.append(FieldError(path: "kind", message: "\(what) (expected \"\(expectedKind)\")"))
        }
        return errors
    }
}
