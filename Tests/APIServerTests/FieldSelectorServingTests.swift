@testable import APIServer
import Foundation
import JSONValue
import Testing

func event(_ name: String, kind: String, object: String, uid: String, reason: String, source: JSONValue? = nil,
           reportingComponent: String? = nil) -> JSONValue {
    var body: JSONObject = [
        "apiVersion": "v1", "kind": "Event", "metadata": ["name": .string(name)],
        "involvedObject": ["kind": .string(kind), "name": .string(object), "uid": .string(uid), "apiVersion": "routelet.dev/v1alpha1"],
        "reason": .string(reason), "type": "Normal", "message": "programmed",
    ]
    if let source { body["source"] = source }
    if let reportingComponent { body["reportingComponent"] = .string(reportingComponent) }
    return .object(body)
}

/// Field selectors on lists and watches, as kube-apiserver supports them.
@Suite struct FieldSelectorServingTests {
    @Test func eventsAreSelectedByTheFieldsKubeAPIServerSupports() async throws {
        let server = try Server()
        defer { server.remove() }
        let events = "/api/v1/namespaces/default/events"
        #expect(await server.call("POST", events, event("e1", kind: "RouteTable", object: "edge", uid: "u1", reason: "Programmed",
                                                        source: ["component": "routelet"])).status == 201)
        #expect(await server.call("POST", events, event("e2", kind: "RouteTable", object: "core", uid: "u2", reason: "NodeErrors",
                                                        reportingComponent: "routelet-aggregator")).status == 201)
        #expect(await server.call("POST", events, event("e3", kind: "GatewayRoute", object: "edge", uid: "u3", reason: "Programmed")).status == 201)
        func names(_ selector: String, path: String = "/api/v1/events") async -> [String] {
            await server.call("GET", path, query: ["fieldSelector": selector]).body["items"]?.arrayValue?.compactMap { $0.metadata("name") } ?? []
        }
        // What kubectl describe sends for a cluster-scoped object.
        #expect(await names("involvedObject.kind=RouteTable,involvedObject.name=edge,involvedObject.namespace=,involvedObject.uid=u1") == ["e1"])
        #expect(await names("involvedObject.name==edge") == ["e1", "e3"])
        #expect(await names("involvedObject.kind!=RouteTable") == ["e3"])
        #expect(await names("reason=Programmed,type=Normal", path: events) == ["e1", "e3"])
        #expect(await names("source=routelet") == ["e1"])
        #expect(await names("source=routelet-aggregator") == ["e2"], "source falls back to reportingComponent")
        #expect(await names("reportingComponent=routelet-aggregator") == ["e2"])
        #expect(await names("involvedObject.apiVersion=routelet.dev/v1alpha1,metadata.name!=e1") == ["e2", "e3"])
        #expect(await names("metadata.namespace=default,involvedObject.fieldPath=,involvedObject.resourceVersion=") == ["e1", "e2", "e3"])

        let unsupported = await server.call("GET", "/api/v1/events", query: ["fieldSelector": "involvedObject.color=red"])
        #expect(unsupported.status == 400 && unsupported.body["message"] == "field label not supported: involvedObject.color", "\(unsupported.body)")
        let onTables = await server.call("GET", tablesPath, query: ["fieldSelector": "reason=Programmed"])
        #expect(onTables.status == 400 && onTables.body["message"] == "field label not supported: reason", "only Events have event fields")
        #expect(await server.call("GET", tablesPath, query: ["fieldSelector": "metadata.name=x"]).status == 200)
        let malformed = await server.call("GET", "/api/v1/events", query: ["fieldSelector": "reason"])
        #expect(malformed.status == 400 && malformed.body["message"] == "invalid selector: 'reason'; can't understand 'reason'", "\(malformed.body)")
        #expect(await server.call("GET", "/api/v1/events", query: ["fieldSelector": "reason=a=b"]).status == 400)
        #expect(await server.call("GET", "/api/v1/events", query: ["fieldSelector": "reason=Programmed", "watch": "true"]).status == 200)
        #expect(await server.call("GET", "/api/v1/events", query: ["fieldSelector": "nope=1", "watch": "true"]).status == 400)
    }

    @Test func aWatchAppliesTheEventFieldSelector() async throws {
        let server = try Server()
        defer { server.remove() }
        let events = "/api/v1/namespaces/default/events"
        await server.call("POST", events, event("e1", kind: "RouteTable", object: "edge", uid: "u1", reason: "Programmed"))
        let watched = Task {
            await server.watch("/api/v1/events", query: ["fieldSelector": "involvedObject.name=edge", "timeoutSeconds": "5"], count: 2)
        }
        try await Task.sleep(for: .milliseconds(300))
        await server.call("POST", events, event("e2", kind: "RouteTable", object: "core", uid: "u2", reason: "Programmed"))
        await server.call("POST", events, event("e3", kind: "GatewayRoute", object: "edge", uid: "u3", reason: "Programmed"))
        let seen = await watched.value
        #expect(seen.map { $0["type"]?.stringValue ?? "" } == ["ADDED", "ADDED"])
        #expect(seen.map { $0["object"]?.metadata("name") ?? "" } == ["e1", "e3"], "\(seen)")
    }
}
