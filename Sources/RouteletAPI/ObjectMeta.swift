/// Kubernetes object metadata (metav1.ObjectMeta), the fields routelet uses.
/// Absent fields are nil and are left out when encoding.
public struct ObjectMeta: Codable, Hashable, Sendable {
    public var name: String?
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var generation: Int64?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    /// RFC 3339 text as the API server sends it, e.g. "2024-05-01T10:00:00Z".
    public var creationTimestamp: String?
    public var deletionTimestamp: String?
    public var finalizers: [String]?

    public init(
        name: String? = nil, namespace: String? = nil, uid: String? = nil, resourceVersion: String? = nil,
        generation: Int64? = nil, labels: [String: String]? = nil, annotations: [String: String]? = nil,
        creationTimestamp: String? = nil, deletionTimestamp: String? = nil, finalizers: [String]? = nil
    ) {
        self.name = name
        self.namespace = namespace
        self.uid = uid
        self.resourceVersion = resourceVersion
        self.generation = generation
        self.labels = labels
        self.annotations = annotations
        self.creationTimestamp = creationTimestamp
        self.deletionTimestamp = deletionTimestamp
        self.finalizers = finalizers
    }

    private enum CodingKeys: String, CodingKey {
        case name, namespace, uid, resourceVersion, generation, labels, annotations
        case creationTimestamp, deletionTimestamp, finalizers
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        namespace = try container.decodeIfPresent(String.self, forKey: .namespace)
        uid = try container.decodeIfPresent(String.self, forKey: .uid)
        resourceVersion = try container.decodeIfPresent(String.self, forKey: .resourceVersion)
        generation = try container.decodeIntegerIfPresent(Int64.self, forKey: .generation)
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels)
        annotations = try container.decodeIfPresent([String: String].self, forKey: .annotations)
        creationTimestamp = try container.decodeIfPresent(String.self, forKey: .creationTimestamp)
        deletionTimestamp = try container.decodeIfPresent(String.self, forKey: .deletionTimestamp)
        finalizers = try container.decodeIfPresent([String].self, forKey: .finalizers)
    }

    /// Problems with the name (required, a DNS-1123 subdomain) and the label keys and values.
    public func validate(at path: String = "metadata") -> [FieldError] {
        var errors: [FieldError] = []
        if let name, !name.isEmpty {
            if let problem = KubernetesNames.subdomainProblem(name) {
                errors.append(FieldError(path: "\(path).name", message: "\(quoted(name)) is not a valid name: it \(problem)"))
            }
        } else {
            errors.append(FieldError(path: "\(path).name", message: "a name is required (like \"edge-1\")"))
        }
        for (key, value) in (labels ?? [:]).sorted(by: { $0.key < $1.key }) {
            if let problem = KubernetesNames.labelKeyProblem(key) {
                errors.append(FieldError(path: "\(path).labels", message: "\(quoted(key)) is not a valid label key: \(problem)"))
            }
            if let problem = KubernetesNames.labelValueProblem(value) {
                errors.append(FieldError(path: "\(path).labels", message: "\(quoted(value)) is not a valid value for label \(quoted(key)): it \(problem)"))
            }
        }
        return errors
    }

    /// Problems with the namespace of a namespaced object: required (the API
    /// server fills it in from the request), a DNS-1123 label.
    public func validateNamespace(at path: String = "metadata") -> [FieldError] {
        guard let namespace, !namespace.isEmpty else {
            return [FieldError(path: "\(path).namespace", message: "a namespace is required (like \"shop\")")]
        }
        guard let problem = KubernetesNames.labelNameProblem(namespace) else { return [] }
        return [FieldError(path: "\(path).namespace", message: "\(quoted(namespace)) is not a valid namespace: it \(problem)")]
    }
}
