import Foundation
import JSONValue
import KubeClient
import NetLab
import Synchronization
import Testing

/// The client against the real embedded API server (`routelet apiserver`
/// in its own process, HTTPS with its own CA and token).
@Suite(.serialized) struct ClientTests {
    @Test func listAndWatchSeeCreatesUpdatesAndDeletesInOrder() async throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let client = try KubeClient(config: KubeConfig.load(path: server.kubeconfig))
        let watcher = Watcher(client.changes(of: .routeTables))
        defer { watcher.stop() }
        try await watcher.waitUntil("the first list") { $0.synced }

        _ = try await client.create(.routeTables, table("a", routes: 1))
        var a = try await client.get(.routeTables, name: "a")
        a["spec"] = table("a", routes: 2)["spec"]
        _ = try await client.replace(.routeTables, a)
        _ = try await client.create(.routeTables, table("b", routes: 1))
        try await client.delete(.routeTables, name: "a")

        try await watcher.waitUntil("four events") { $0.events.count == 4 }
        #expect(watcher.state.events.map(\.summary) == ["added a", "modified a", "added b", "deleted a"])
        #expect(watcher.state.cache.keys.sorted() == ["b"])
    }

    @Test func aCompactedHistoryLeadsToExactlyOneRelistAndAConsistentCache() async throws {
        // Only 5 events of history: a watch that was away for more must relist.
        let server = try ServerProcess(extraArguments: ["--watch-history", "5"])
        defer { server.stop() }
        let proxy = try FaultyProxy(target: UInt16(server.port))
        defer { proxy.stop() }
        let direct = try KubeClient(config: KubeConfig.load(path: server.kubeconfig))
        let client = try KubeClient(config: config(server, via: proxy))

        for name in ["keep", "change", "vanish"] { _ = try await direct.create(.routeTables, table(name, routes: 1)) }
        let watcher = Watcher(client.changes(of: .routeTables))
        defer { watcher.stop() }
        try await watcher.waitUntil("the first list") { $0.synced && $0.cache.count == 3 }

        // Cut the client off, and make more changes than the history keeps.
        proxy.set(.refuse)
        try await Task.sleep(for: .milliseconds(200))
        var change = try await direct.get(.routeTables, name: "change")
        change["spec"] = table("change", routes: 3)["spec"]
        _ = try await direct.replace(.routeTables, change)
        try await direct.delete(.routeTables, name: "vanish")
        for index in 0..<8 { _ = try await direct.create(.routeTables, table("new-\(index)", routes: 1)) }
        proxy.set(.forward)

        let truth = try await direct.list(.routeTables)
        let expected = Dictionary(uniqueKeysWithValues: truth.items.map { ($0["metadata"]!["name"]!.stringValue!, $0) })
        try await watcher.waitUntil("the cache to match a fresh list", timeout: 20) { $0.cache == expected }
        #expect(client.requestCounts()["LIST 200"] == 2, "one list at start, one relist: \(client.requestCounts())")
        #expect(watcher.state.events.contains { $0.summary == "deleted vanish" })
        #expect(watcher.state.events.contains { $0.summary == "modified change" })
    }

    @Test func aKilledServerIsReconnectedWithBackoffNotAHotLoop() async throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let client = try KubeClient(config: KubeConfig.load(path: server.kubeconfig))
        let watcher = Watcher(client.changes(of: .routeTables))
        defer { watcher.stop() }
        try await watcher.waitUntil("the first list") { $0.synced }

        server.halt()
        let down = ContinuousClock.now
        try await Task.sleep(for: .seconds(4))
        try server.start()
        let downtime = ContinuousClock.now - down
        _ = try await client.create(.routeTables, table("after-restart", routes: 1))
        try await watcher.waitUntil("the change made after the restart", timeout: 40) { $0.cache["after-restart"] != nil }

        // Backoff 0.8 s doubling (±20 %): within ~5 s of downtime, at most
        // about 4 failed attempts. A hot loop would make hundreds.
        let failed = client.requestCounts().filter { $0.key.hasSuffix(" error") }.values.reduce(0, +)
        #expect(failed >= 1 && failed <= 6, "failed requests while down for \(downtime): \(client.requestCounts())")
    }

    @Test func aSilentConnectionIsDetectedAndTheWatchRestarted() async throws {
        let server = try ServerProcess(extraArguments: ["--watch-bookmark-interval", "60s"])
        defer { server.stop() }
        let proxy = try FaultyProxy(target: UInt16(server.port))
        defer { proxy.stop() }
        let direct = try KubeClient(config: KubeConfig.load(path: server.kubeconfig))
        let client = try KubeClient(config: config(server, via: proxy), watchSilenceLimit: .seconds(2))
        let watcher = Watcher(client.changes(of: .routeTables))
        defer { watcher.stop() }
        try await watcher.waitUntil("the first list") { $0.synced }

        // The peer stays connected but nothing flows, like a dead NAT entry.
        proxy.set(.blackhole)
        _ = try await direct.create(.routeTables, table("during-silence", routes: 1))
        try await Task.sleep(for: .seconds(3))
        proxy.set(.forward)
        try await watcher.waitUntil("the change made during the silence", timeout: 20) { $0.cache["during-silence"] != nil }
        #expect(client.requestCounts()["WATCH error", default: 0] >= 1, "\(client.requestCounts())")
    }

    @Test func aConflictingStatusWriteIsRetriedOnAFreshRead() async throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let client = try KubeClient(config: KubeConfig.load(path: server.kubeconfig))
        _ = try await client.create(.routeletNodes, ["apiVersion": "routelet.dev/v1alpha1", "kind": "RouteletNode", "metadata": ["name": "n1"]])

        let calls = Mutex(0)
        let written = try await client.updateStatus(.routeletNodes, name: "n1") { object in
            let call = calls.withLock { $0 += 1; return $0 }
            if call == 1 {
                // Someone else writes between our read and our write.
                let patched = try server.kubectl(["patch", "rn", "n1", "--subresource=status", "--type=merge",
                                                  "-p", #"{"status":{"agentVersion":"other"}}"#])
                #expect(patched.status == 0, "\(patched.stderr)")
            }
            var status = object["status"] ?? [:]
            status["restoredAt"] = "2026-01-01T00:00:00Z"
            object["status"] = status
            return true
        }
        #expect(calls.withLock { $0 } == 2)
        #expect(client.requestCounts()["PUT 409"] == 1)
        #expect(written?["status"]?["agentVersion"] == "other", "the other writer's change survives")
        #expect(written?["status"]?["restoredAt"] == "2026-01-01T00:00:00Z")
    }

    @Test func aKubeconfigWithTheWrongCAFailsWithATLSErrorThatSaysSo() async throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let other = try ServerProcess()
        defer { other.stop() }
        var config = try KubeConfig.load(path: server.kubeconfig)
        config.certificateAuthority = try KubeConfig.load(path: other.kubeconfig).certificateAuthority
        let client = KubeClient(config: config)
        do {
            _ = try await client.list(.routeTables)
            Issue.record("a server certificate from another CA was accepted")
        } catch let error as KubeError {
            #expect(error.isTLS, "\(error)")
            #expect(error.description.contains("TLS"), "\(error)")
            #expect(error.description.lowercased().contains("certificate"), "\(error)")
            #expect(error.description.contains("/apis/routelet.dev/v1alpha1/routetables"), "names the request: \(error)")
        }
    }

    @Test func tlsServerNameIsTheNameTheCertificateIsCheckedFor() async throws {
        let server = try ServerProcess()
        defer { server.stop() }
        var config = try KubeConfig.load(path: server.kubeconfig)
        config.tlsServerName = "localhost"   // in the server certificate, beside 127.0.0.1
        _ = try await KubeClient(config: config).list(.routeTables)
        config.tlsServerName = "not-the-server.example"
        do {
            _ = try await KubeClient(config: config).list(.routeTables)
            Issue.record("a certificate was accepted for a name it does not carry")
        } catch let error as KubeError {
            #expect(error.isTLS, "\(error)")
        }
    }

    @Test func typedObjectsRoundTrip() async throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let client = try KubeClient(config: KubeConfig.load(path: server.kubeconfig))
        struct Lease: Codable, Equatable {
            struct Metadata: Codable, Equatable { var name: String; var namespace: String?; var resourceVersion: String? }
            struct Spec: Codable, Equatable { var holderIdentity: String }
            var apiVersion = "coordination.k8s.io/v1"
            var kind = "Lease"
            var metadata: Metadata
            var spec: Spec
        }
        var created = try await client.create(Lease(metadata: .init(name: "l1"), spec: .init(holderIdentity: "a")), .leases,
                                              namespace: "default")
        #expect(created.metadata.resourceVersion != nil)
        created.spec.holderIdentity = "b"
        let replaced = try await client.replace(created, .leases, namespace: "default")
        #expect(replaced.spec.holderIdentity == "b")
        let listed = try await client.list(Lease.self, .leases, namespace: "default")
        #expect(listed.map(\.spec.holderIdentity) == ["b"])
        #expect(try await client.get(Lease.self, .leases, name: "l1", namespace: "default") == replaced)
    }

    @Test func errorAnswersCarryTheServersMessage() async throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let client = try KubeClient(config: KubeConfig.load(path: server.kubeconfig))
        do {
            _ = try await client.get(.routeTables, name: "missing")
            Issue.record("a missing object was found")
        } catch let error as KubeError {
            #expect(error.isNotFound)
            #expect(error.description.contains("404 Not Found"), "\(error)")
            #expect(error.description.contains("missing"), "\(error)")
        }
        var bad = table("bad", routes: 1)
        bad["spec"]?["routes"] = [["destination": "10.0.0.1/8", "type": "Blackhole"]]
        do {
            _ = try await client.create(.routeTables, bad)
            Issue.record("an invalid table was accepted")
        } catch let error as KubeError {
            #expect(error.statusCode == 422, "\(error)")
            #expect(error.description.contains("spec.routes[0].destination"), "\(error)")
        }
        var wrongToken = try KubeConfig.load(path: server.kubeconfig)
        wrongToken.token = TokenSource(token: "not-the-token")
        do {
            _ = try await KubeClient(config: wrongToken).list(.routeTables)
            Issue.record("a wrong token was accepted")
        } catch let error as KubeError {
            #expect(error.statusCode == 401, "\(error)")
        }
    }
}

/// The server's kubeconfig, pointed at `proxy` (its certificate is for 127.0.0.1 too).
func config(_ server: ServerProcess, via proxy: FaultyProxy) throws -> KubeConfig {
    var config = try KubeConfig.load(path: server.kubeconfig)
    config.server = "https://127.0.0.1:\(proxy.port)"
    return config
}

/// A RouteTable with `routes` blackhole routes.
func table(_ name: String, routes: Int) -> JSONValue {
    [
        "apiVersion": "routelet.dev/v1alpha1", "kind": "RouteTable", "metadata": ["name": .string(name)],
        "spec": [
            "interfaces": ["eth1"],
            "routes": .array((0..<routes).map { ["destination": .string("10.\($0).0.0/16"), "type": "Blackhole"] }),
        ],
    ]
}

/// Consumes a change stream in the background, keeping every event and a cache.
final class Watcher: Sendable {
    struct Event: Sendable {
        var change: ResourceChange
        var summary: String {
            switch change {
            case .added(let object): "added \(object["metadata"]?["name"]?.stringValue ?? "?")"
            case .modified(let object): "modified \(object["metadata"]?["name"]?.stringValue ?? "?")"
            case .deleted(let object): "deleted \(object["metadata"]?["name"]?.stringValue ?? "?")"
            case .synced: "synced"
            }
        }
    }

    struct State: Sendable {
        var events: [Event] = []
        var cache: [String: JSONValue] = [:]
        var synced = false
    }

    final class Shared: Sendable {
        let mutex = Mutex(State())
    }

    private let shared = Shared()
    private let task: Task<Void, Never>

    init(_ changes: AsyncThrowingStream<ResourceChange, any Error>) {
        task = Task { [shared] in
            do {
                for try await change in changes {
                    shared.mutex.withLock { state in
                        switch change {
                        case .synced:
                            state.synced = true
                        case .added(let object), .modified(let object):
                            state.events.append(Event(change: change))
                            state.cache[object["metadata"]!["name"]!.stringValue!] = object
                        case .deleted(let object):
                            state.events.append(Event(change: change))
                            state.cache[object["metadata"]!["name"]!.stringValue!] = nil
                        }
                    }
                }
            } catch {}
        }
    }

    var state: State { shared.mutex.withLock { $0 } }

    func waitUntil(_ what: String, timeout: Double = 10, _ condition: (State) -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        while ContinuousClock.now < deadline {
            if condition(state) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ServerTestError("no \(what) within \(timeout) s; events: \(state.events.map(\.summary))")
    }

    func stop() { task.cancel() }
}
