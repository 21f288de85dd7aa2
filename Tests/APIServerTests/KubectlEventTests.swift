import Foundation
import NetLab
import Testing

/// An Event about `kind`/`name` (uid `uid`) in `namespace`, as a controller writes one.
func eventManifest(name: String, namespace: String, kind: String, object: String, objectNamespace: String?, uid: String,
                   reason: String, message: String) -> String {
    let now = ISO8601DateFormatter().string(from: Date())
    return """
        apiVersion: v1
        kind: Event
        metadata: {name: \(name), namespace: \(namespace)}
        involvedObject:
          apiVersion: routelet.dev/v1alpha1
          kind: \(kind)
          name: \(object)
          uid: \(uid)
        \(objectNamespace.map { "  namespace: \($0)" } ?? "")
        reason: \(reason)
        message: "\(message)"
        type: Normal
        source: {component: routelet}
        firstTimestamp: "\(now)"
        lastTimestamp: "\(now)"
        count: 1
        """
}

/// kubectl describe finds an object's Events through the field selectors it sends.
@Suite(.serialized) struct KubectlEventTests {
    @Test(arguments: kubectlBinaries())
    func describeShowsTheEventsOfAnObject(kubectl: String) throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let isOld = kubectl.contains("kubectl-debian")
        func run(_ arguments: String..., input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
            let arguments = isOld && arguments.first == "apply" ? arguments + ["--validate=false"] : arguments
            return try server.kubectl(arguments, binary: kubectl, input: input)
        }
        #expect(try run("apply", "-f", "-", input: edgeTable).status == 0)
        let uid = try run("get", "rt", "edge", "-o", "jsonpath={.metadata.uid}").stdout
        #expect(!uid.isEmpty)
        let before = try run("describe", "rt", "edge")
        #expect(before.status == 0 && before.stdout.contains("Events:") && before.stdout.contains("<none>"), "\(before)")

        // Events of cluster-scoped objects live in "default", with no involvedObject.namespace.
        let ours = eventManifest(name: "edge.1", namespace: "default", kind: "RouteTable", object: "edge", objectNamespace: nil, uid: uid,
                                 reason: "Programmed", message: "node-a programmed generation 1")
        let other = eventManifest(name: "core.1", namespace: "default", kind: "RouteTable", object: "core", objectNamespace: nil, uid: "x",
                                  reason: "NodeErrors", message: "node-b: interface eth9 not found")
        for manifest in [ours, other] {
            let created = try run("apply", "-f", "-", input: manifest)
            #expect(created.status == 0, "\(created)")
        }
        let described = try run("describe", "rt", "edge")
        #expect(described.status == 0, "\(described)")
        let events = described.stdout.components(separatedBy: "Events:").last ?? ""
        #expect(events.contains("Programmed") && events.contains("node-a programmed generation 1") && events.contains("routelet"),
                "kubectl describe shows the Event: \(described.stdout)")
        #expect(!events.contains("eth9"), "only the object's own events: \(described.stdout)")

        let selected = try run("get", "events", "-A", "--field-selector", "involvedObject.kind=RouteTable,involvedObject.name=core")
        #expect(selected.status == 0 && selected.stdout.contains("core.1") && !selected.stdout.contains("edge.1"), "\(selected)")
        let unsupported = try run("get", "events", "-A", "--field-selector", "involvedObject.color=red")
        #expect(unsupported.status != 0 && unsupported.stderr.contains("field label not supported: involvedObject.color"), "\(unsupported)")

        // A namespaced object: its events are in its namespace.
        #expect(try run("apply", "-f", "-", input: shopNamespace).status == 0)
        #expect(try run("apply", "-f", "-", input: usersRoute).status == 0)
        let routeUID = try run("get", "gwr", "users", "-n", "shop", "-o", "jsonpath={.metadata.uid}").stdout
        let routeEvent = eventManifest(name: "users.1", namespace: "shop", kind: "GatewayRoute", object: "users", objectNamespace: "shop",
                                       uid: routeUID, reason: "Programmed", message: "node-a serves generation 1")
        #expect(try run("apply", "-f", "-", input: routeEvent).status == 0)
        let route = try run("describe", "gwr", "users", "-n", "shop")
        #expect(route.stdout.components(separatedBy: "Events:").last?.contains("node-a serves generation 1") == true, "\(route.stdout)")
    }
}
