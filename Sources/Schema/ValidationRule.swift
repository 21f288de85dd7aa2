/// One `x-kubernetes-validations` entry: a CEL rule with its message. It is
/// kept so that it can be served and inspected; this module does not
/// evaluate CEL (routelet runs the same checks in Swift).
public struct ValidationRule: Hashable, Sendable {
    public var rule: String
    public var message: String?
    public var messageExpression: String?
    /// The reason reported on failure, e.g. `FieldValueInvalid`.
    public var reason: String?
    /// The field the failure is reported on, relative to the rule's node, e.g. `.destination`.
    public var fieldPath: String?
    public var optionalOldSelf: Bool?

    public init(
        rule: String, message: String? = nil, messageExpression: String? = nil, reason: String? = nil,
        fieldPath: String? = nil, optionalOldSelf: Bool? = nil
    ) {
        self.rule = rule
        self.message = message
        self.messageExpression = messageExpression
        self.reason = reason
        self.fieldPath = fieldPath
        self.optionalOldSelf = optionalOldSelf
    }
}
