/// One way a value breaks a schema, as kube-apiserver reports it: the field,
/// the kind of problem, and a message such as `Required value` or
/// `Too long: may not be longer than 15`.
public struct SchemaViolation: Hashable, Sendable, CustomStringConvertible {
    /// The kind of problem, named as Kubernetes' `metav1.CauseType` names it.
    public enum Reason: String, Hashable, Sendable, CaseIterable {
        case required = "FieldValueRequired"
        case invalid = "FieldValueInvalid"
        /// The value has the wrong JSON type.
        case typeInvalid = "FieldValueTypeInvalid"
        /// The value is not one of the schema's `enum`.
        case notSupported = "FieldValueNotSupported"
        case tooLong = "FieldValueTooLong"
        case tooMany = "FieldValueTooMany"
        /// A repeated entry of a list of type `set` or `map`.
        case duplicate = "FieldValueDuplicate"
    }

    /// Kubernetes style, like `spec.routes[3].metric`; empty for the whole document.
    public var path: String
    public var reason: Reason
    /// The error body without the path, like
    /// `Unsupported value: "Foo": supported values: "Unicast", "Blackhole", "Local"`.
    public var message: String

    public init(path: String, reason: Reason, message: String) {
        self.path = path
        self.reason = reason
        self.message = message
    }

    /// `path: message`, as kube-apiserver words a field error.
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}
