import JSONValue

/// Every resource the server serves, found by group, version and plural.
public struct Registry: Sendable {
    public private(set) var resources: [ResourceType]

    public init(resources: [ResourceType]) {
        self.resources = resources
    }

    public func find(group: String, version: String, plural: String) -> ResourceType? {
        resources.first { $0.group == group && $0.version == version && $0.plural == plural }
    }

    public func find(kind: String, groupVersion: String) -> ResourceType? {
        resources.first { $0.kind == kind && $0.groupVersion == groupVersion }
    }

    /// Group -> versions served, in a stable order (core first).
    var groups: [(group: String, versions: [String])] {
        var order: [String] = []
        var versions: [String: [String]] = [:]
        for resource in resources {
            if versions[resource.group] == nil { order.append(resource.group) }
            if !(versions[resource.group]?.contains(resource.version) ?? false) { versions[resource.group, default: []].append(resource.version) }
        }
        return order.map { ($0, versions[$0]!) }
    }
}

/// What a request path names: a resource (and maybe a namespace, a name and
/// a subresource), or one of the discovery documents.
enum APIPath: Equatable {
    case version, health(String)
    case coreVersions                                  // /api
    case groups                                        // /apis
    case group(String)                                 // /apis/g
    case resourceList(group: String, version: String)  // /api/v1, /apis/g/v
    case openAPIv2, openAPIv3Root
    case openAPIv3(group: String, version: String)
    case resource(group: String, version: String, plural: String, namespace: String?, name: String?, subresource: String?)

    /// Parses the path part of a request URI; nil when it names nothing.
    init?(_ path: String) {
        var parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if parts.count > 12 || parts.contains(where: { $0.count > 253 }) { return nil }
        switch parts.first {
        case "version" where parts.count == 1: self = .version
        case "healthz", "readyz", "livez": self = .health(parts[0])
        case "openapi":
            if parts == ["openapi", "v2"] { self = .openAPIv2; return }
            if parts == ["openapi", "v3"] { self = .openAPIv3Root; return }
            if parts.count == 4, parts[1] == "v3", parts[2] == "api" { self = .openAPIv3(group: "", version: parts[3]); return }
            if parts.count == 5, parts[1] == "v3", parts[2] == "apis" { self = .openAPIv3(group: parts[3], version: parts[4]); return }
            return nil
        case "api":
            if parts.count == 1 { self = .coreVersions; return }
            let version = parts[1]
            parts.removeFirst(2)
            guard let parsed = APIPath.resourcePath(group: "", version: version, parts) else { return nil }
            self = parsed
        case "apis":
            if parts.count == 1 { self = .groups; return }
            if parts.count == 2 { self = .group(parts[1]); return }
            let (group, version) = (parts[1], parts[2])
            parts.removeFirst(3)
            guard let parsed = APIPath.resourcePath(group: group, version: version, parts) else { return nil }
            self = parsed
        default:
            return nil
        }
    }

    /// After /api/v1 or /apis/g/v: [plural [name [sub]]] or
    /// namespaces/NS/plural[/name[/sub]] (namespaces/NAME[/sub] is the
    /// Namespace itself).
    private static func resourcePath(group: String, version: String, _ parts: [String]) -> APIPath? {
        switch parts.count {
        case 0: return .resourceList(group: group, version: version)
        case 1: return .resource(group: group, version: version, plural: parts[0], namespace: nil, name: nil, subresource: nil)
        case 2: return .resource(group: group, version: version, plural: parts[0], namespace: nil, name: parts[1], subresource: nil)
        case 3 where parts[0] == "namespaces" && (parts[2] == "status" || parts[2] == "finalize"):
            return .resource(group: group, version: version, plural: "namespaces", namespace: nil, name: parts[1], subresource: parts[2])
        case 3 where parts[0] == "namespaces":
            return .resource(group: group, version: version, plural: parts[2], namespace: parts[1], name: nil, subresource: nil)
        case 3: return .resource(group: group, version: version, plural: parts[0], namespace: nil, name: parts[1], subresource: parts[2])
        case 4 where parts[0] == "namespaces":
            return .resource(group: group, version: version, plural: parts[2], namespace: parts[1], name: parts[3], subresource: nil)
        case 5 where parts[0] == "namespaces":
            return .resource(group: group, version: version, plural: parts[2], namespace: parts[1], name: parts[3], subresource: parts[4])
        default: return nil
        }
    }
}
