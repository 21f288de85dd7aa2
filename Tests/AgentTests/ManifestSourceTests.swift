import Agent
import Foundation
import Testing

/// A temporary manifest directory, removed by `remove()`.
struct ManifestDir {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "routelet-manifests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: "\(path)/\(name)", atomically: true, encoding: .utf8)
    }

    func delete(_ name: String) throws { try FileManager.default.removeItem(atPath: "\(path)/\(name)") }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

func routeTableYAML(_ name: String, routes: String = "- {destination: 10.0.0.0/8, type: Blackhole}") -> String {
    """
    apiVersion: routelet.dev/v1alpha1
    kind: RouteTable
    metadata:
      name: \(name)
    spec:
      interfaces: [eth0]
      routes:
    \(routes.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
    """
}

@Suite struct ManifestSourceTests {
    @Test func theGatewayExamplesAreValidGatewayRoutes() throws {
        let scan = try ManifestDirectory.scan(FileManager.default.currentDirectoryPath + "/manifests/examples/gateway")
        #expect(scan.errors.isEmpty, "\(scan.errors)")
        let routes = scan.objects.keys.filter { $0.kind == "GatewayRoute" }.map(\.name).sorted()
        #expect(routes == ["api", "api-tls", "checkout", "checkout-web", "dns", "lab-users", "logged-shop", "shop", "users"])
    }

    @Test func readsYAMLAndJSONMultiDocumentAndIgnoresOtherKinds() throws {
        let dir = try ManifestDir()
        defer { dir.remove() }
        try dir.write("a.yaml", routeTableYAML("a") + "\n---\n" + routeTableYAML("b") + "\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
        try dir.write("c.json", #"{"apiVersion": "routelet.dev/v1alpha1", "kind": "RouteTable", "metadata": {"name": "c"}, "spec": {"interfaces": ["eth1"], "routes": []}}"#)
        try dir.write("notes.txt", "not a manifest")
        let scan = try ManifestDirectory.scan(dir.path)
        #expect(Set(scan.tables.keys) == ["a", "b", "c"])
        #expect(scan.errors.isEmpty)
        #expect(scan.ignored.map(\.kind) == ["ConfigMap"])
    }

    @Test func anInvalidManifestIsReportedWithFileLineAndField() throws {
        let dir = try ManifestDir()
        defer { dir.remove() }
        try dir.write("bad.yaml", routeTableYAML("bad", routes: "- {destination: 10.0.0.1/8, type: Blackhole}"))
        try dir.write("broken.yaml", "apiVersion: [unclosed\n")
        let scan = try ManifestDirectory.scan(dir.path)
        #expect(scan.tables.isEmpty)
        #expect(scan.invalidObjects == [ObjectID(kind: "RouteTable", namespace: "", name: "bad")])
        #expect(scan.unreadableFiles == ["broken.yaml"])
        let messages = scan.errors.map(\.description)
        #expect(messages.contains(#"bad.yaml:8 (RouteTable bad): spec.routes[0].destination: "10.0.0.1/8" has host bits set; did you mean "10.0.0.0/8"?"#), "\(messages)")
        #expect(messages.contains { $0.hasPrefix("broken.yaml:") })
    }

    @Test func theLastValidVersionStaysUntilAnEditIsFixed() throws {
        let dir = try ManifestDir()
        defer { dir.remove() }
        var store = ManifestStore()
        try dir.write("t.yaml", routeTableYAML("t"))
        try dir.write("u.yaml", routeTableYAML("u"))
        #expect(store.update(with: try ManifestDirectory.scan(dir.path)))
        let good = store.tables

        // A typo in t, a syntax error in u: both keep their last good version.
        try dir.write("t.yaml", routeTableYAML("t", routes: "- {destination: 10.0.0.0/33, type: Blackhole}"))
        try dir.write("u.yaml", "kind: RouteTable\n  bad indentation: [\n")
        #expect(!store.update(with: try ManifestDirectory.scan(dir.path)))
        #expect(store.tables == good)
        #expect(store.errors.count == 2)

        // Fixed and changed: the new version is taken.
        try dir.write("t.yaml", routeTableYAML("t", routes: "- {destination: 10.1.0.0/16, type: Blackhole}"))
        #expect(store.update(with: try ManifestDirectory.scan(dir.path)))
        #expect(store.tables.first { $0.metadata.name == "t" }?.spec.routes.first?.destination == "10.1.0.0/16")

        // A deleted file takes its objects with it.
        try dir.delete("u.yaml")
        store.update(with: try ManifestDirectory.scan(dir.path))
        #expect(store.tables.map { $0.metadata.name } == ["t"])
    }

    @Test func theSameNameInTwoFilesIsAnError() throws {
        let dir = try ManifestDir()
        defer { dir.remove() }
        try dir.write("1.yaml", routeTableYAML("same"))
        try dir.write("2.yaml", routeTableYAML("same"))
        let scan = try ManifestDirectory.scan(dir.path)
        #expect(scan.tables["same"]?.file == "1.yaml")
        #expect(scan.errors.first?.description.contains("already defined in 1.yaml") == true)
    }
}
