/// Where an object lives: its resource (`group/plural`, e.g.
/// `routelet.dev/routetables` or `core/namespaces`), namespace (`""` when
/// cluster-scoped) and name.
public struct ObjectKey: Hashable, Sendable, CustomStringConvertible {
    public var resource: String
    public var namespace: String
    public var name: String

    public init(resource: String, namespace: String, name: String) {
        self.resource = resource
        self.namespace = namespace
        self.name = name
    }

    public var description: String {
        namespace.isEmpty ? "\(resource) \(name)" : "\(resource) \(namespace)/\(name)"
    }
}
