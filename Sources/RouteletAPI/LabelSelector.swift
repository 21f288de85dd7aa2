/// Selects objects by their labels (metav1.LabelSelector): every
/// `matchLabels` pair and every `matchExpressions` requirement must hold.
public struct LabelSelector: Codable, Hashable, Sendable {
    public var matchLabels: [String: String]?
    public var matchExpressions: [LabelSelectorRequirement]?

    public init(matchLabels: [String: String]? = nil, matchExpressions: [LabelSelectorRequirement]? = nil) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    /// Whether an object with `labels` is selected, as Kubernetes decides:
    /// an empty selector selects everything, and an invalid one (see
    /// ``validate(at:)``) selects nothing.
    public func matches(_ labels: [String: String]) -> Bool {
        guard validate().isEmpty else { return false }
        for (key, value) in matchLabels ?? [:] where labels[key] != value {
            return false
        }
        return (matchExpressions ?? []).allSatisfy { $0.matches(labels) }
    }

    /// Every problem with the selector: label keys and values, operators,
    /// and values that an operator requires or forbids.
    public func validate(at path: String = "selector") -> [FieldError] {
        var errors: [FieldError] = []
        for (key, value) in (matchLabels ?? [:]).sorted(by: { $0.key < $1.key }) {
            if let problem = KubernetesNames.labelKeyProblem(key) {
                errors.append(FieldError(path: "\(path).matchLabels", message: "\(quoted(key)) is not a valid label key: \(problem)"))
            }
            if let problem = KubernetesNames.labelValueProblem(value) {
                errors.append(FieldError(
                    path: "\(path).matchLabels", message: "\(quoted(value)) is not a valid value for label \(quoted(key)): it \(problem)"))
            }
        }
        for (index, requirement) in (matchExpressions ?? []).enumerated() {
            errors += requirement.validate(at: "\(path).matchExpressions[\(index)]")
        }
        return errors
    }
}

/// How a selector requirement compares a label: `In`, `NotIn`, `Exists` or
/// `DoesNotExist`. Any other text still decodes, so it can be reported.
public struct LabelSelectorOperator: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let `in`: LabelSelectorOperator = "In"
    public static let notIn: LabelSelectorOperator = "NotIn"
    public static let exists: LabelSelectorOperator = "Exists"
    public static let doesNotExist: LabelSelectorOperator = "DoesNotExist"
    public static let allKnown: [LabelSelectorOperator] = [.in, .notIn, .exists, .doesNotExist]
}

/// One `matchExpressions` entry: a label key, an operator and the values it compares against.
public struct LabelSelectorRequirement: Codable, Hashable, Sendable {
    public var key: String
    public var `operator`: LabelSelectorOperator
    public var values: [String]?

    public init(key: String, operator: LabelSelectorOperator, values: [String]? = nil) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }

    private enum CodingKeys: String, CodingKey {
        case key, `operator`, values
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        key = try container.decodeIfPresent(String.self, forKey: .key) ?? ""
        `operator` = try container.decodeIfPresent(LabelSelectorOperator.self, forKey: .operator) ?? ""
        values = try container.decodeIfPresent([String].self, forKey: .values)
    }

    /// Whether `labels` satisfy this requirement; NotIn and DoesNotExist hold
    /// when the key is absent. Assumes the requirement is valid.
    public func matches(_ labels: [String: String]) -> Bool {
        let value = labels[key]
        switch `operator` {
        case .in: return value.map { (values ?? []).contains($0) } ?? false
        case .notIn: return value.map { !(values ?? []).contains($0) } ?? true
        case .exists: return value != nil
        case .doesNotExist: return value == nil
        default: return false
        }
    }

    /// Problems with the key, the operator and the values.
    public func validate(at path: String) -> [FieldError] {
        var errors: [FieldError] = []
        if key.isEmpty {
            errors.append(FieldError(path: "\(path).key", message: "a label key is required (like \"routelet.dev/role\")"))
        } else if let problem = KubernetesNames.labelKeyProblem(key) {
            errors.append(FieldError(path: "\(path).key", message: "\(quoted(key)) is not a valid label key: \(problem)"))
        }
        let values = values ?? []
        switch `operator` {
        case .in, .notIn:
            if values.isEmpty {
                errors.append(FieldError(path: "\(path).values", message: "operator \(`operator`) needs at least one value"))
            }
        case .exists, .doesNotExist:
            if !values.isEmpty {
                errors.append(FieldError(path: "\(path).values", message: "operator \(`operator`) takes no values; remove \"values\""))
            }
        default:
            let what = `operator`.rawValue.isEmpty ? "an operator is required" : "\(quoted(`operator`.rawValue)) is not a valid operator"
            errors.append(FieldError(
                path: "\(path).operator", message: "\(what) (expected \"In\", \"NotIn\", \"Exists\" or \"DoesNotExist\")"))
        }
        for (index, value) in values.enumerated() {
            if let problem = KubernetesNames.labelValueProblem(value) {
                errors.append(FieldError(path: "\(path).values[\(index)]", message: "\(quoted(value)) is not a valid label value: it \(problem)"))
            }
        }
        return errors
    }
}
