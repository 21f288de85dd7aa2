@testable import APIServer
import APIStore
import Foundation
import JSONValue
import Logging
import NetLab
import Testing

/// The API semantics, in process (no HTTP): status codes and behaviours a
/// Kubernetes client relies on.
final class Server: Sendable {
    let handler: APIHandler
    let path: String

    init(bookmarkInterval: Duration = .seconds(10), historyLimit: Int = 10_000, path: String? = nil) throws {
        self.path = path ?? NSTemporaryDirectory() + "rl-conformance-\(UUID().uuidString).db"
        let store = try ObjectStore(path: self.path, historyLimit: historyLimit)
        let registry = Registry(resources: ResourceType.builtins + (try APIServerService.customResources()))
        try APIServerService.seed(store: store, registry: registry)
        handler = APIHandler(registry: registry, store: store, token: "t0k3n", serverAddress: "127.0.0.1:6443",
                             logger: Logger(label: "test"), bookmarkInterval: bookmarkInterval)
    }

    func remove() {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    @discardableResult
    func call(_ method: String, _ path: String, _ body: JSONValue? = nil, raw: Data? = nil, contentType: String = "application/json",
              query: [String: String] = [:], accept: String = "application/json", token: String? = "t0k3n") async -> (status: Int, body: JSONValue) {
        var headers = ["content-type": contentType, "accept": accept]
        if let token { headers["authorization"] = "Bearer \(token)" }
        let data = raw ?? (try? body?.jsonData())
        let response = await handler.respond(to: APIRequest(method: method, path: path, query: query, headers: headers, body: data))
        switch response.body {
        case .json(let value): return (response.status, value)
        case .stream: return (response.status, "stream")
        }
    }

    func watch(_ path: String, query: [String: String], count: Int) async -> [JSONValue] {
        let headers = ["authorization": "Bearer t0k3n"]
        let response = await handler.respond(to: APIRequest(method: "GET", path: path, query: query.merging(["watch": "true"]) { $1 }, headers: headers, body: nil))
        guard case .stream(let events) = response.body else { return [] }
        var seen: [JSONValue] = []
        for await event in events {
            seen.append(event)
            if seen.count == count { break }
        }
        return seen
    }
}

let tablesPath = "/apis/routelet.dev/v1alpha1/routetables"

func routeTable(_ name: String, destination: String = "10.0.0.0/8", extra: JSONValue? = nil) -> JSONValue {
    var spec: JSONObject = ["interfaces": ["eth0"], "routes": [["destination": .string(destination), "type": "Blackhole"]]]
    if let extra { spec["extra"] = extra }
    return ["apiVersion": "routelet.dev/v1alpha1", "kind": "RouteTable", "metadata": ["name": .string(name)], "spec": .object(spec)]
}

@Suite struct ConformanceTests {
    @Test func everyRequestNeedsTheToken() async throws {
        let server = try Server()
        defer { server.remove() }
        #expect(await server.call("GET", tablesPath, token: nil).status == 401)
        #expect(await server.call("GET", tablesPath, token: "wrong").status == 401)
        #expect(await server.call("GET", tablesPath).status == 200)
    }

    @Test func generationBumpsOnlyOnSpecChanges() async throws {
        let server = try Server()
        defer { server.remove() }
        let created = await server.call("POST", tablesPath, routeTable("g"))
        #expect(created.status == 201)
        #expect(created.body["metadata"]?["generation"] == 1)
        let labelled = await server.call("PATCH", "\(tablesPath)/g", ["metadata": ["labels": ["a": "b"]]], contentType: "application/merge-patch+json")
        #expect(labelled.body["metadata"]?["generation"] == 1, "a label is not a spec change")
        let changed = await server.call("PATCH", "\(tablesPath)/g", ["spec": ["interfaces": ["eth1"]]], contentType: "application/merge-patch+json")
        #expect(changed.body["metadata"]?["generation"] == 2)
        let status = await server.call("PUT", "\(tablesPath)/g/status", changed.body.setting(["status"], to: ["routes": 1]))
        #expect(status.status == 200)
        #expect(status.body["metadata"]?["generation"] == 2, "a status write is not a spec change")
    }

    @Test func statusAndMainResourceEachWriteOnlyTheirPart() async throws {
        let server = try Server()
        defer { server.remove() }
        let created = await server.call("POST", tablesPath, routeTable("s").setting(["status"], to: ["routes": 9]))
        #expect(created.body["status"] == nil, "status is ignored on create")
        let viaStatus = await server.call("PUT", "\(tablesPath)/s/status",
                                          created.body.setting(["status"], to: ["routes": 1]).setting(["spec", "interfaces"], to: ["ethX"]))
        #expect(viaStatus.body["status"]?["routes"] == 1)
        #expect(viaStatus.body["spec"]?["interfaces"] == ["eth0"], "/status ignores spec")
        let viaMain = await server.call("PUT", "\(tablesPath)/s", viaStatus.body.setting(["status"], to: ["routes": 7]))
        #expect(viaMain.body["status"]?["routes"] == 1, "the main resource ignores status")
    }

    @Test func staleUpdatesConflictAndVersionsRiseAcrossRestarts() async throws {
        let path = NSTemporaryDirectory() + "rl-conformance-\(UUID().uuidString).db"
        var versions: [Int64] = []
        do {
            let server = try Server(path: path)
            let first = await server.call("POST", tablesPath, routeTable("c"))
            versions.append(Int64(first.body.metadata("resourceVersion") ?? "") ?? 0)
            let second = await server.call("PUT", "\(tablesPath)/c", first.body.setting(["spec", "interfaces"], to: ["eth2"]))
            versions.append(Int64(second.body.metadata("resourceVersion") ?? "") ?? 0)
            let stale = await server.call("PUT", "\(tablesPath)/c", first.body.setting(["spec", "interfaces"], to: ["eth3"]))
            #expect(stale.status == 409 && stale.body["reason"] == "Conflict")
            #expect(await server.call("DELETE", "\(tablesPath)/c").status == 200)
        }
        let reopened = try Server(path: path)
        defer { reopened.remove() }
        let after = await reopened.call("POST", tablesPath, routeTable("c"))
        let version = Int64(after.body.metadata("resourceVersion") ?? "") ?? 0
        #expect(versions == versions.sorted() && version > versions.max()!, "\(versions) then \(version)")
    }

    @Test func bookmarksArriveWhenAskedFor() async throws {
        let server = try Server(bookmarkInterval: .milliseconds(100))
        defer { server.remove() }
        let created = await server.call("POST", tablesPath, routeTable("b"))
        let version = try #require(created.body.metadata("resourceVersion"))
        // Two bookmarks are due after 0.2 s; the timeout only ends a watch
        // whose bookmarks never come (and fails it).
        let events = await server.watch(tablesPath, query: ["allowWatchBookmarks": "true", "timeoutSeconds": "30"], count: 3)
        #expect(events.map { $0["type"]?.stringValue ?? "?" } == ["ADDED", "BOOKMARK", "BOOKMARK"],
                "the object, then the two bookmarks asked for, within the 30 s of the watch")
        for bookmark in events.dropFirst() {
            #expect(bookmark["object"]?["kind"] == "RouteTable" && bookmark["object"]?.metadata("resourceVersion") == version,
                    "a bookmark names the kind and the version the watch has reached: \(bookmark)")
        }
    }

    @Test func aWatchFromACompactedVersionGetsExpired() async throws {
        let server = try Server(historyLimit: 3)
        defer { server.remove() }
        for index in 0..<10 { await server.call("POST", tablesPath, routeTable("w\(index)")) }
        let events = await server.watch(tablesPath, query: ["resourceVersion": "2", "timeoutSeconds": "2"], count: 1)
        #expect(events.first?["type"] == "ERROR")
        #expect(events.first?["object"]?["code"] == 410 && events.first?["object"]?["reason"] == "Expired", "\(events)")
    }

    @Test func badRequestsGetAStatusNeverACrash() async throws {
        let server = try Server()
        defer { server.remove() }
        func expect(_ result: (status: Int, body: JSONValue), _ code: Int, _ what: String) {
            #expect(result.status == code, "\(what): \(result)")
            #expect(result.body["kind"] == "Status", "\(what): \(result.body)")
        }
        expect(await server.call("POST", tablesPath, raw: Data("{not json".utf8)), 400, "malformed JSON")
        expect(await server.call("POST", tablesPath, raw: Data("kind: [".utf8), contentType: "application/yaml"), 400, "malformed YAML")
        expect(await server.call("POST", tablesPath, routeTable("t").setting(["spec", "routes", "0"], to: nil).setting(["spec", "interfaces"], to: "eth0")), 422, "wrong type")
        expect(await server.call("POST", tablesPath, routeTable("u", extra: "x"), query: ["fieldValidation": "Strict"]), 400, "unknown field, Strict")
        expect(await server.call("POST", tablesPath, raw: Data(repeating: UInt8(ascii: " "), count: (3 << 20) + 1)), 413, "3 MiB + 1")
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let nested = await server.call("POST", tablesPath, raw: Data(deep.utf8))
        #expect((400..<500).contains(nested.status), "deep nesting: \(nested.status)")
        expect(await server.call("GET", "/apis/routelet.dev/v1alpha1/gadgets"), 404, "unknown kind")
        expect(await server.call("GET", "/apis/nope/v1/things/x"), 404, "unknown group")
        expect(await server.call("POST", "\(tablesPath)/x"), 405, "POST on an item")
        expect(await server.call("PATCH", "\(tablesPath)/x", ["a": 1], contentType: "application/apply-patch+yaml"), 415, "server-side apply")
        expect(await server.call("POST", tablesPath, routeTable("v", destination: "10.0.0.1/8")), 422, "host bits")
        let invalid = await server.call("POST", tablesPath, routeTable("v", destination: "10.0.0.1/8"))
        #expect(invalid.body["details"]?["causes"]?[0]?["field"] == "spec.routes[0].destination", "\(invalid.body)")
    }

    @Test func randomBytesNeverCrashTheServer() async throws {
        let server = try Server()
        defer { server.remove() }
        let seed = SplitMix64.seed(for: "randomBytesNeverCrashTheServer")
        var random = SplitMix64(seed: seed)
        let paths = [tablesPath, "\(tablesPath)/x", "\(tablesPath)/x/status", "/api/v1/namespaces", "/api/v1/namespaces/default/events", "/apis", "/%%", "/api/v1/namespaces/a/b/c/d/e/f"]
        let types = ["application/json", "application/yaml", "application/merge-patch+json", "application/json-patch+json", "text/plain"]
        for index in 0..<500 {
            let bytes = (0..<Int.random(in: 0...200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let method = ["GET", "POST", "PUT", "PATCH", "DELETE"].randomElement(using: &random)!
            let path = paths.randomElement(using: &random)!
            let type = types.randomElement(using: &random)!
            let result = await server.call(method, path, raw: Data(bytes), contentType: type)
            #expect((200..<500).contains(result.status), "seed \(seed), request \(index): \(method) \(path) (\(type)): \(result)")
        }
    }
}

@Suite struct ListAndLifecycleTests {
    @Test func labelSelectorsPaginationAndTablesFollowKubernetes() async throws {
        let server = try Server()
        defer { server.remove() }
        for index in 0..<7 {
            await server.call("POST", tablesPath, routeTable("p\(index)").setting(["metadata", "labels"], to: ["tier": index % 2 == 0 ? "edge" : "core"]))
        }
        let edge = await server.call("GET", tablesPath, query: ["labelSelector": "tier=edge"])
        #expect(edge.body["items"]?.arrayValue?.compactMap { $0.metadata("name") } == ["p0", "p2", "p4", "p6"])
        let notEdge = await server.call("GET", tablesPath, query: ["labelSelector": "tier!=edge,tier in (core, x)"])
        #expect(notEdge.body["items"]?.arrayValue?.count == 3)
        #expect(await server.call("GET", tablesPath, query: ["labelSelector": "tier in (edge"]).status == 400)

        // Pages of 3 with a continue token, all at one resourceVersion.
        var names: [String] = []
        var token: String?
        var versions: Set<String> = []
        repeat {
            var query = ["limit": "3"]
            if let token { query["continue"] = token }
            let page = await server.call("GET", tablesPath, query: query)
            names += page.body["items"]?.arrayValue?.compactMap { $0.metadata("name") } ?? []
            versions.insert(page.body["metadata"]?["resourceVersion"]?.stringValue ?? "")
            token = page.body["metadata"]?["continue"]?.stringValue
        } while token != nil
        #expect(names == (0..<7).map { "p\($0)" })
        #expect(versions.count == 1)
        #expect(await server.call("GET", tablesPath, query: ["continue": "garbage"]).status == 400)

        let table = await server.call("GET", tablesPath, accept: "application/json;as=Table;v=v1;g=meta.k8s.io")
        #expect(table.body["kind"] == "Table")
        #expect(table.body["columnDefinitions"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["Name", "Interfaces", "Routes", "Nodes", "Programmed", "Age"])
        #expect(table.body["rows"]?[0]?["cells"]?[0] == "p0")
        #expect(table.body["rows"]?[0]?["object"]?["kind"] == "PartialObjectMetadata")
    }

    @Test func finalizersHoldADeletionUntilTheyAreRemoved() async throws {
        let server = try Server()
        defer { server.remove() }
        await server.call("POST", tablesPath, routeTable("f").setting(["metadata", "finalizers"], to: ["routelet.dev/cleanup"]))
        let deleting = await server.call("DELETE", "\(tablesPath)/f")
        #expect((200..<300).contains(deleting.status))
        let held = await server.call("GET", "\(tablesPath)/f")
        #expect(held.status == 200 && held.body["metadata"]?["deletionTimestamp"] != nil, "\(held)")
        let adding = await server.call("PATCH", "\(tablesPath)/f", ["metadata": ["finalizers": ["routelet.dev/cleanup", "another"]]],
                                       contentType: "application/merge-patch+json")
        #expect(adding.status == 422, "no new finalizers while deleting: \(adding)")
        await server.call("PATCH", "\(tablesPath)/f", ["metadata": ["finalizers": nil]], contentType: "application/merge-patch+json")
        #expect(await server.call("GET", "\(tablesPath)/f").status == 404)
    }

    @Test func namespacedObjectsNeedTheirNamespace() async throws {
        let server = try Server()
        defer { server.remove() }
        let lease: JSONValue = ["apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": ["name": "routelet-aggregator"],
                                "spec": ["holderIdentity": "node-a"]]
        #expect(await server.call("POST", "/apis/coordination.k8s.io/v1/namespaces/routelet-system/leases", lease).status == 201)
        #expect(await server.call("POST", "/apis/coordination.k8s.io/v1/namespaces/nowhere/leases", lease).status == 404)
        #expect(await server.call("GET", "/apis/coordination.k8s.io/v1/leases").body["items"]?.arrayValue?.count == 1)
        let patched = await server.call("PATCH", "/apis/coordination.k8s.io/v1/namespaces/routelet-system/leases/routelet-aggregator",
                                        [["op": "replace", "path": "/spec/holderIdentity", "value": "node-b"]], contentType: "application/json-patch+json")
        #expect(patched.body["spec"]?["holderIdentity"] == "node-b")
    }
}
