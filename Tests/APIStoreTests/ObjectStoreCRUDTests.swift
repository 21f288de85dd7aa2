import Foundation
import JSONValue
import Testing
@testable import APIStore

@Suite struct ObjectStoreCRUDTests {
    @Test func createStampsResourceVersionAndGetReturnsIt() throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath)
        let created = try store.create(key("default", "a"), object: manifest("default", "a"))
        #expect(created.resourceVersion == 1)
        #expect(created.object["metadata"]?["resourceVersion"] == "1")
        #expect(created.object["metadata"]?["name"] == "a")
        #expect(try store.get(key("default", "a")) == created)
        #expect(try store.get(key("default", "missing")) == nil)
        #expect(store.currentResourceVersion == 1)
    }

    @Test func createOfAnExistingKeyFailsWithAlreadyExists() throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath)
        try store.create(key("default", "a"), object: manifest("default", "a"))
        #expect(throws: StoreError.alreadyExists) {
            try store.create(key("default", "a"), object: manifest("default", "a"))
        }
        #expect(store.currentResourceVersion == 1, "a failed create must not consume a version")
    }

    @Test func updateStoresTheTransformResultWithANewVersion() throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath)
        try store.create(key("default", "a"), object: manifest("default", "a"))
        try store.create(key("default", "b"), object: manifest("default", "b"))
        let updated = try store.update(key("default", "a"), expectedResourceVersion: 1) { settingReplicas($0, 3) }
        #expect(updated.resourceVersion == 3)
        #expect(updated.object["spec"]?["replicas"] == 3)
        #expect(updated.object["metadata"]?["resourceVersion"] == "3")
        #expect(try store.get(key("default", "a")) == updated)
        let unconditional = try store.update(key("default", "a"), expectedResourceVersion: nil) { settingReplicas($0, 4) }
        #expect(unconditional.resourceVersion == 4)
    }

    @Test func updateAndDeleteOfAMissingKeyFailWithNotFound() throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath)
        #expect(throws: StoreError.notFound) {
            try store.update(key("default", "a"), expectedResourceVersion: nil) { $0 }
        }
        #expect(throws: StoreError.notFound) { try store.delete(key("default", "a"), expectedResourceVersion: nil) }
    }

    @Test func noOpUpdateWritesNothing() async throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath)
        let created = try store.create(key("default", "a"), object: manifest("default", "a"))
        let watcher = try store.watch(resource: routeTables, namespace: nil, fromResourceVersion: nil)

        // Same content; a stale resourceVersion in the result and a double
        // that serializes like the stored integer do not count as changes.
        let same = try store.update(key("default", "a"), expectedResourceVersion: 1) { current in
            guard case .object(var members) = current, case .object(var metadata)? = members["metadata"] else {
                return current
            }
            metadata["resourceVersion"] = "999"
            members["metadata"] = .object(metadata)
            members["spec"] = ["replicas": .double(1)]
            return .object(members)
        }
        #expect(same == created)
        #expect(store.currentResourceVersion == 1)
        #expect(try store.get(key("default", "a")) == created)

        try store.update(key("default", "a"), expectedResourceVersion: nil) { settingReplicas($0, 2) }
        let events = await take(1, from: watcher)
        #expect(events.map(\.resourceVersion) == [2], "the no-op update must not produce a watch event")
        watcher.cancel()
    }

    @Test func staleExpectedResourceVersionConflicts() throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath)
        try store.create(key("default", "a"), object: manifest("default", "a"))
        try store.update(key("default", "a"), expectedResourceVersion: 1) { settingReplicas($0, 2) }
        #expect(throws: StoreError.conflict(current: 2)) {
            try store.update(key("default", "a"), expectedResourceVersion: 1) { settingReplicas($0, 5) }
        }
        #expect(throws: StoreError.conflict(current: 2)) {
            try store.delete(key("default", "a"), expectedResourceVersion: 1)
        }
        #expect(try store.get(key("default", "a"))?.object["spec"]?["replicas"] == 2)
        #expect(store.currentResourceVersion == 2)
    }

    @Test func deleteReturnsTheObjectWithTheDeletionVersion() throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath)
        try store.create(key("default", "a"), object: manifest("default", "a"))
        let deleted = try store.delete(key("default", "a"), expectedResourceVersion: 1)
        #expect(deleted.resourceVersion == 2)
        #expect(deleted.object["metadata"]?["resourceVersion"] == "2")
        #expect(deleted.object["spec"]?["replicas"] == 1)
        #expect(try store.get(key("default", "a")) == nil)
        let recreated = try store.create(key("default", "a"), object: manifest("default", "a"))
        #expect(recreated.resourceVersion == 3)
    }

    @Test func transformErrorAbortsTheUpdateUnchanged() throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath)
        let created = try store.create(key("default", "a"), object: manifest("default", "a"))
        #expect(throws: TransformRefused()) {
            try store.update(key("default", "a"), expectedResourceVersion: nil) { _ in throw TransformRefused() }
        }
        #expect(try store.get(key("default", "a")) == created)
        #expect(store.currentResourceVersion == 1)
    }

    @Test func nonObjectsAreRejected() throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath)
        #expect(throws: StoreError.self) { try store.create(key("default", "a"), object: [1, 2]) }
        #expect(throws: StoreError.self) { try store.create(key("default", "a"), object: ["metadata": "x"]) }
        #expect(throws: StoreError.self) {
            try store.create(key("default", "a"), object: ["spec": .double(.infinity)])
        }
        #expect(store.currentResourceVersion == 0)
        let bare = try store.create(key("", "n", resource: namespaces), object: ["kind": "Namespace"])
        #expect(bare.object["metadata"]?["resourceVersion"] == "1", "missing metadata is created")
    }

    @Test func databaseIsWALWithFullSynchronous() throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath)
        #expect(try store.writerSynchronousLevel() == 2, "PRAGMA synchronous must be FULL (2)")
        let mode = try store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }

    @Test func reopenedStoreKeepsObjectsAndVersionsKeepIncreasing() throws {
        let dir = try TemporaryDirectory()
        var before: [StoredObject] = []
        var highest: Int64 = 0
        do {
            let store = try ObjectStore(path: dir.databasePath)
            for index in 0..<5 {
                try store.create(key("ns\(index % 2)", "o\(index)"), object: manifest("ns\(index % 2)", "o\(index)"))
            }
            try store.update(key("ns0", "o0"), expectedResourceVersion: nil) { settingReplicas($0, 9) }
            try store.create(key("ns1", "gone"), object: manifest("ns1", "gone"))
            let deleted = try store.delete(key("ns1", "gone"), expectedResourceVersion: nil)
            highest = deleted.resourceVersion
            before = try store.list(resource: routeTables, namespace: nil).items
        }
        let store = try ObjectStore(path: dir.databasePath)
        #expect(store.currentResourceVersion == highest)
        let after = try store.list(resource: routeTables, namespace: nil)
        #expect(after.items == before)
        #expect(after.resourceVersion == highest)
        for object in before {
            #expect(try store.get(object.key)?.resourceVersion == object.resourceVersion)
        }
        let next = try store.create(key("ns0", "new"), object: manifest("ns0", "new"))
        #expect(next.resourceVersion > highest, "versions after reopening must exceed every earlier one")
    }

    @Test func versionsStayAboveDeletedAndCompactedOnesAfterReopen() throws {
        let dir = try TemporaryDirectory()
        do {
            let store = try ObjectStore(path: dir.databasePath)
            for index in 0..<10 {
                try store.create(key("default", "o\(index)"), object: manifest("default", "o\(index)"))
                try store.delete(key("default", "o\(index)"), expectedResourceVersion: nil)
            }
            try store.compact(keepingLast: 0)
        }
        let store = try ObjectStore(path: dir.databasePath)
        #expect(store.currentResourceVersion == 20)
        #expect(try store.create(key("default", "x"), object: manifest("default", "x")).resourceVersion == 21)
    }
}
