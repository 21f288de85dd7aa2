import Foundation

/// A kind of object in the Kubernetes API, by where it lives: group,
/// version, plural, and whether it is namespaced.
public struct KubeResource: Sendable, Hashable, CustomStringConvertible {
    public var group: String
    public var version: String
    public var plural: String
    public var namespaced: Bool

    public init(group: String, version: String, plural: String, namespaced: Bool) {
        self.group = group
        self.version = version
        self.plural = plural
        self.namespaced = namespaced
    }

    public static let routeTables = KubeResource(group: "routelet.dev", version: "v1alpha1", plural: "routetables", namespaced: false)
    public static let routeletNodes = KubeResource(group: "routelet.dev", version: "v1alpha1", plural: "routeletnodes", namespaced: false)
    public static let gatewayRoutes = KubeResource(group: "routelet.dev", version: "v1alpha1", plural: "gatewayroutes", namespaced: true)
    public static let services = KubeResource(group: "", version: "v1", plural: "services", namespaced: true)
    public static let secrets = KubeResource(group: "", version: "v1", plural: "secrets", namespaced: true)
    public static let endpointSlices = KubeResource(group: "discovery.k8s.io", version: "v1", plural: "endpointslices", namespaced: true)
    public static let nodes = KubeResource(group: "", version: "v1", plural: "nodes", namespaced: false)
    public static let events = KubeResource(group: "", version: "v1", plural: "events", namespaced: true)
    public static let leases = KubeResource(group: "coordination.k8s.io", version: "v1", plural: "leases", namespaced: true)

    /// "routetables.routelet.dev", "nodes".
    public var description: String { group.isEmpty ? plural : "\(plural).\(group)" }

    /// The URL path of the collection or of one object:
    /// `/apis/routelet.dev/v1alpha1/routetables/edge/status`, `/api/v1/namespaces/ns/events`.
    public func path(namespace: String? = nil, name: String? = nil, subresource: String? = nil) -> String {
        var path = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if namespaced, let namespace { path += "/namespaces/\(Self.escape(namespace))" }
        path += "/\(plural)"
        if let name { path += "/\(Self.escape(name))" }
        if let subresource { path += "/\(subresource)" }
        return path
    }

    /// Names are DNS labels and subdomains, but a path never trusts its input.
    static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? segment
    }
}
