import Foundation
import JSONValue
@testable import APIStore

/// A fresh directory for one test's database, removed when the test ends.
struct TemporaryDirectory: ~Copyable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "apistore-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    var databasePath: String { path + "/store.sqlite" }

    deinit {
        // A leftover temporary directory is harmless, so a failed removal is not a test failure.
        do { try FileManager.default.removeItem(atPath: path) } catch { print("could not remove \(path): \(error)") }
    }
}

let routeTables = "routelet.dev/routetables"
let namespaces = "core/namespaces"

func key(_ namespace: String, _ name: String, resource: String = routeTables) -> ObjectKey {
    ObjectKey(resource: resource, namespace: namespace, name: name)
}

/// A minimal Kubernetes-shaped object.
func manifest(_ namespace: String, _ name: String, spec: JSONValue = ["replicas": 1]) -> JSONValue {
    var metadata: JSONObject = ["name": .string(name)]
    if !namespace.isEmpty { metadata["namespace"] = .string(namespace) }
    return ["apiVersion": "routelet.dev/v1alpha1", "kind": "RouteTable", "metadata": .object(metadata), "spec": spec]
}

/// `object` with `spec.replicas` replaced.
func settingReplicas(_ object: JSONValue, _ replicas: Int64) -> JSONValue {
    guard case .object(var members) = object else { return object }
    members["spec"] = ["replicas": .integer(replicas)]
    return .object(members)
}

/// Takes `count` events from a watcher, or fewer if it ends first or
/// `timeout` passes (then the watcher is cancelled), so that a lost event
/// fails the test instead of hanging it.
func take(_ count: Int, from watcher: Watcher, timeout: Duration = .seconds(10)) async -> [WatchEvent] {
    await withTaskGroup(of: [WatchEvent]?.self) { group in
        group.addTask {
            var events: [WatchEvent] = []
            guard count > 0 else { return events }
            for await event in watcher {
                events.append(event)
                if events.count == count { break }
            }
            return events
        }
        group.addTask {
            do {
                try await Task.sleep(for: timeout)
            } catch {
                return nil  // cancelled: the events arrived in time
            }
            watcher.cancel()
            return nil
        }
        var collected: [WatchEvent] = []
        for await result in group {
            if let result {
                collected = result
                group.cancelAll()
            }
        }
        return collected
    }
}

/// A test failure raised on purpose by a transform.
struct TransformRefused: Error, Equatable {}

/// Where two version sequences first differ, compactly: (index, actual, expected), nil when equal.
func firstDifference(_ actual: [Int64], _ expected: [Int64]) -> (index: Int, actual: Int64?, expected: Int64?)? {
    for index in 0..<max(actual.count, expected.count) {
        let left = index < actual.count ? actual[index] : nil
        let right = index < expected.count ? expected[index] : nil
        if left != right { return (index, left, right) }
    }
    return nil
}
