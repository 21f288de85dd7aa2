import Foundation
import JSONValue
import NetLab
import Testing
import YAML

/// The agent's RBAC (manifests/rbac.yaml, and the chart's rendering of it)
/// against what the agent really calls: `routelet standalone` records every
/// API call (verb, resource, subresource, namespace, name, User-Agent) while
/// its agent programs a table, reports status, posts an Event and holds the
/// aggregator Lease. Every call of the agent must be allowed, and every
/// permission must be used.
@Suite(.serialized) struct RBACTests {
    /// One permission: a verb on group/resource[/subresource], cluster-wide
    /// (namespace nil) or in one namespace, on any object (name nil) or on
    /// the one resourceNames names.
    struct Permission: Hashable, CustomStringConvertible {
        var verb: String
        var group: String
        var resource: String
        var namespace: String?
        var name: String?
        var description: String {
            "\(verb) \(group.isEmpty ? "core" : group)/\(resource)\(name.map { " named \($0)" } ?? "")\(namespace.map { " in \($0)" } ?? "")"
        }

        /// Whether this permission allows `call` (as RBAC matches a rule).
        func allows(_ call: Permission) -> Bool {
            verb == call.verb && group == call.group && resource == call.resource
                && (namespace == nil || namespace == call.namespace) && (name == nil || name == call.name)
        }
    }

    /// The ServiceAccount the agent runs as (manifests/daemonset.yaml).
    static let agent = (namespace: "routelet-system", name: "routelet-agent")

    @Test func theClusterRoleAllowsExactlyWhatTheAgentCalls() throws {
        let allowed = try Self.grants(Self.objects(in: "manifests/rbac.yaml"), source: "manifests/rbac.yaml")
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
                                   resource: resource, namespace: namespace, name: call["name"]?.stringValue))
        }
        #expect(used.count >= 10, "the run made the agent's calls: \(used)")
        #expect(used.contains { $0.resource == "leases" && $0.name != nil }, "the request log names the Lease: \(used)")

        for call in used.sorted(by: { $0.description < $1.description }) {
            #expect(allowed.contains { $0.allows(call) }, "the agent calls \(call), which manifests/rbac.yaml does not allow")
        }
        for permission in allowed.sorted(by: { $0.description < $1.description }) {
            #expect(used.contains { permission.allows($0) }, "manifests/rbac.yaml allows \(permission), which the agent never calls")
        }
    }

    /// The chart installs the same RBAC as manifests/: what its default
    /// rendering grants the agent is exactly what manifests/rbac.yaml grants.
    @Test func theChartGrantsTheAgentExactlyWhatManifestsGrant() throws {
        let manifests = try Self.grants(Self.objects(in: "manifests/rbac.yaml"), source: "manifests/rbac.yaml")
        let chart = try Self.grants(HelmChart.render(), source: "helm-chart/")
        #expect(!chart.isEmpty, "the chart grants the agent nothing")
        let onlyChart = chart.subtracting(manifests).sorted { $0.description < $1.description }
        let onlyManifests = manifests.subtracting(chart).sorted { $0.description < $1.description }
        #expect(onlyChart.isEmpty, "the chart grants, manifests/rbac.yaml does not: \(onlyChart)")
        #expect(onlyManifests.isEmpty, "manifests/rbac.yaml grants, the chart does not: \(onlyManifests)")
    }

    /// The objects of a manifest file.
    static func objects(in path: String) throws -> [JSONValue] {
        let data = try Data(contentsOf: URL(fileURLWithPath: FileManager.default.currentDirectoryPath + "/" + path))
        return try YAML.parseDocuments(bytes: data).map(\.value)
    }

    /// What `objects` grant the agent's ServiceAccount: the rules of every
    /// ClusterRole a ClusterRoleBinding gives it (cluster-wide), and of every
    /// Role or ClusterRole a RoleBinding gives it (in the binding's
    /// namespace), one permission per verb, resource and resourceName.
    /// Wildcards are refused.
    static func grants(_ objects: [JSONValue], source: String) -> Set<Permission> {
        func named(_ kind: String, _ name: String, namespace: String?) -> JSONValue? {
            objects.first { $0["kind"]?.stringValue == kind && $0.metadata("name") == name
                && (namespace == nil || $0.metadata("namespace") == namespace) }
        }
        var permissions: Set<Permission> = []
        for binding in objects where ["ClusterRoleBinding", "RoleBinding"].contains(binding["kind"]?.stringValue ?? "") {
            let subjects = binding["subjects"]?.arrayValue ?? []
            guard subjects.contains(where: { $0["kind"] == "ServiceAccount" && $0["name"]?.stringValue == agent.name
                && $0["namespace"]?.stringValue == agent.namespace }) else { continue }
            let isCluster = binding["kind"] == "ClusterRoleBinding"
            let namespace = isCluster ? nil : binding.metadata("namespace") ?? ""
            let roleKind = binding["roleRef"]?["kind"]?.stringValue ?? "", roleName = binding["roleRef"]?["name"]?.stringValue ?? ""
            guard let role = named(roleKind, roleName, namespace: roleKind == "Role" ? namespace : nil) else {
                Issue.record("\(source): \(binding["kind"]?.stringValue ?? "") \(binding.metadata("name") ?? "") refers to \(roleKind) \(roleName), which is missing")
                continue
            }
            for rule in role["rules"]?.arrayValue ?? [] {
                let strings: (String) -> [String] = { rule[$0]?.arrayValue?.compactMap(\.stringValue) ?? [] }
                let (groups, resources, verbs, names) = (strings("apiGroups"), strings("resources"), strings("verbs"), strings("resourceNames"))
                #expect(!(groups + resources + verbs + names).contains("*"), "\(source): a wildcard in \(roleKind) \(roleName)")
                for group in groups {
                    for resource in resources {
                        for verb in verbs {
                            for name in names.isEmpty ? [nil] : names.map(Optional.some) {
                                permissions.insert(Permission(verb: verb, group: group, resource: resource, namespace: namespace, name: name))
                            }
                        }
                    }
                }
            }
        }
        return permissions
    }
}
