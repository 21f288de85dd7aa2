import Foundation
import JSONValue
import NetLab
import Testing
import YAML

/// The agent's RBAC (manifests/rbac.yaml) against what the agent really
/// calls: `routelet standalone` records every API call (verb, resource,
/// subresource, namespace, User-Agent) while its agent programs a table,
/// reports status, posts an Event and holds the aggregator Lease. Every call
/// of the agent must be allowed, and every permission must be used.
@Suite(.serialized) struct RBACTests {
    /// One permission: a verb on group/resource[/subresource], cluster-wide
    /// (namespace nil) or in one namespace.
    struct Permission: Hashable, CustomStringConvertible {
        var verb: String
        var group: String
        var resource: String
        var namespace: String?
        var description: String {
            "\(verb) \(group.isEmpty ? "core" : group)/\(resource)\(namespace.map { " in \($0)" } ?? "")"
        }
    }

    @Test func theClusterRoleAllowsExactlyWhatTheAgentCalls() throws {
        let allowed = try Self.permissions(in: "manifests/rbac.yaml")
        #expect(!allowed.isEmpty)

        let env = try AgentLab()
        defer { env.tearDown() }
        let log = "\(env.stateDir)/requests.jsonl"
        let standalone = try env.startStandalone(resync: "500ms", extra: ["--request-log", log, "--lease-duration", "3s"])
        defer { standalone.stop() }
        #expect(try env.kubectl(["apply", "-f", "-"], input: labTable()).status == 0)
        let ghost = labTable(name: "ghost").replacingOccurrences(of: "interfaces: [ra, rb, rc]", with: "interfaces: [eth9]")
        #expect(try env.kubectl(["apply", "-f", "-"], input: ghost).status == 0)
        #expect(try waitUntil { try env.jsonpath("rt/lab", ".status.nodesReady") == "1/1" } != nil, "\(standalone.rawLog)")
        #expect(try waitUntil { try env.kubectl(["get", "events", "-n", "default"]).stdout.contains("InterfaceNotFound") } != nil)
        // A GatewayRoute: the aggregator writes its status too.
        #expect(try env.kubectl(["apply", "-f", "-"], input: gatewayRoute(backends: [(0, 1)])).status == 0)
        #expect(try waitUntil { try env.jsonpath("gwr/shop", ".status.nodesReady") == "1/1" } != nil, "\(standalone.rawLog)")
        // At least one lease renewal (a third of the lease duration).
        Thread.sleep(forTimeInterval: 1.5)

        var used: Set<Permission> = []
        for line in try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n") {
            let call = try JSONValue(jsonData: Data(line.utf8))
            // The agent's own client; kubectl and standalone's Node registration are not the agent.
            guard call["userAgent"]?.stringValue?.hasPrefix("routelet/") == true else { continue }
            let subresource = call["subresource"]?.stringValue ?? ""
            let resource = (call["resource"]?.stringValue ?? "") + (subresource.isEmpty ? "" : "/\(subresource)")
            let namespace = call["namespaced"]?.boolValue == true ? call["namespace"]?.stringValue : nil
            used.insert(Permission(verb: call["verb"]?.stringValue ?? "", group: call["group"]?.stringValue ?? "",
                                   resource: resource, namespace: namespace))
        }
        #expect(used.count >= 10, "the run made the agent's calls: \(used)")

        func isAllowed(_ call: Permission) -> Bool {
            allowed.contains { $0.verb == call.verb && $0.group == call.group && $0.resource == call.resource
                && ($0.namespace == nil || $0.namespace == call.namespace) }
        }
        for call in used.sorted(by: { $0.description < $1.description }) {
            #expect(isAllowed(call), "the agent calls \(call), which manifests/rbac.yaml does not allow")
        }
        for permission in allowed.sorted(by: { $0.description < $1.description }) {
            let exercised = used.contains { $0.verb == permission.verb && $0.group == permission.group
                && $0.resource == permission.resource && (permission.namespace == nil || $0.namespace == permission.namespace) }
            #expect(exercised, "manifests/rbac.yaml allows \(permission), which the agent never calls")
        }
    }

    /// Every (verb, resource) the ClusterRoles (cluster-wide) and Roles (in
    /// their namespace) of a manifest file grant. Wildcards are refused.
    static func permissions(in path: String) throws -> Set<Permission> {
        let data = try Data(contentsOf: URL(fileURLWithPath: FileManager.default.currentDirectoryPath + "/" + path))
        var permissions: Set<Permission> = []
        for document in try YAML.parseDocuments(bytes: data) {
            let object = document.value
            let kind = object["kind"]?.stringValue ?? ""
            guard kind == "ClusterRole" || kind == "Role" else { continue }
            let namespace = kind == "Role" ? object["metadata"]?["namespace"]?.stringValue ?? "" : nil
            for rule in object["rules"]?.arrayValue ?? [] {
                let groups = rule["apiGroups"]?.arrayValue?.compactMap(\.stringValue) ?? []
                let resources = rule["resources"]?.arrayValue?.compactMap(\.stringValue) ?? []
                let verbs = rule["verbs"]?.arrayValue?.compactMap(\.stringValue) ?? []
                #expect(!(groups + resources + verbs).contains("*"), "\(path): a wildcard in \(kind) rules")
                for group in groups {
                    for resource in resources {
                        for verb in verbs {
                            permissions.insert(Permission(verb: verb, group: group, resource: resource, namespace: namespace))
                        }
                    }
                }
            }
        }
        return permissions
    }
}
