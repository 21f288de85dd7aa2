import JSONValue

/// The discovery documents kubectl reads before anything else (legacy,
/// non-aggregated discovery: kubectl falls back to it), and the OpenAPI v3
/// documents (Discovery+OpenAPI.swift).
struct Discovery {
    let registry: Registry
    let serverAddress: String

    static let kubernetesVersion: JSONValue = [
        "major": "1", "minor": "32", "gitVersion": "v1.32.0+routelet", "gitCommit": "", "gitTreeState": "clean",
        "buildDate": "", "goVersion": "", "compiler": "swift", "platform": "linux/amd64",
    ]

    var coreVersions: JSONValue {
        ["kind": "APIVersions", "versions": ["v1"],
         "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string(serverAddress)]]]
    }

    func groupEntry(_ group: String, _ versions: [String]) -> JSONValue {
        let entries: [JSONValue] = versions.map { ["groupVersion": .string("\(group)/\($0)"), "version": .string($0)] }
        return ["name": .string(group), "versions": .array(entries), "preferredVersion": entries[0]]
    }

    var groupList: JSONValue {
        ["kind": "APIGroupList", "apiVersion": "v1",
         "groups": .array(registry.groups.filter { !$0.group.isEmpty }.map { groupEntry($0.group, $0.versions) })]
    }

    func group(_ name: String) -> JSONValue? {
        guard let entry = registry.groups.first(where: { $0.group == name && !name.isEmpty }) else { return nil }
        guard case .object(var object) = groupEntry(entry.group, entry.versions) else { return nil }
        object["kind"] = "APIGroup"
        object["apiVersion"] = "v1"
        return .object(object)
    }

    func resourceList(group: String, version: String) -> JSONValue? {
        let resources = registry.resources.filter { $0.group == group && $0.version == version }
        guard !resources.isEmpty else { return nil }
        return ["kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"),
                "resources": .array(resources.flatMap { $0.discoveryEntries() })]
    }
}

/// The routelet release this server is part of.
public enum RouteletServerVersion {
    public static let string = "0.1.0"
}
