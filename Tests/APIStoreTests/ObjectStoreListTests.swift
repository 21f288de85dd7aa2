import Foundation
import JSONValue
import Testing
@testable import APIStore

@Suite struct ObjectStoreListTests {
    private func populated(_ dir: borrowing TemporaryDirectory, historyLimit: Int = 10_000) throws -> ObjectStore {
        let store = try ObjectStore(path: dir.databasePath, historyLimit: historyLimit)
        for (namespace, name) in [("b", "2"), ("a", "3"), ("b", "1"), ("a", "1"), ("c", "1"), ("a", "2"), ("b", "3")] {
            try store.create(key(namespace, name), object: manifest(namespace, name))
        }
        try store.create(key("", "a", resource: namespaces), object: ["kind": "Namespace"])
        return store
    }

    private func names(_ page: ListPage) -> [String] {
        page.items.map { "\($0.key.namespace)/\($0.key.name)" }
    }

    @Test func listIsOrderedByNamespaceThenNameAndFilteredByResource() throws {
        let dir = try TemporaryDirectory()
        let store = try populated(dir)
        let page = try store.list(resource: routeTables, namespace: nil)
        #expect(names(page) == ["a/1", "a/2", "a/3", "b/1", "b/2", "b/3", "c/1"])
        #expect(page.resourceVersion == 8)
        #expect(page.continueToken == nil)
        #expect(try store.list(resource: namespaces, namespace: nil).items.map(\.key.name) == ["a"])
    }

    @Test func listFiltersByNamespace() throws {
        let dir = try TemporaryDirectory()
        let store = try populated(dir)
        #expect(names(try store.list(resource: routeTables, namespace: "b")) == ["b/1", "b/2", "b/3"])
        #expect(try store.list(resource: routeTables, namespace: "zzz").items.isEmpty)
        let paged = try store.list(resource: routeTables, namespace: "a", limit: 2)
        #expect(names(paged) == ["a/1", "a/2"])
        let rest = try store.list(resource: routeTables, namespace: "a", limit: 2, continueToken: paged.continueToken)
        #expect(names(rest) == ["a/3"])
        #expect(rest.continueToken == nil)
    }

    @Test func paginationWalksAllPagesAtOneVersion() throws {
        let dir = try TemporaryDirectory()
        let store = try populated(dir)
        var seen: [String] = []
        var token: String?
        var versions: Set<Int64> = []
        var pages = 0
        repeat {
            let page = try store.list(resource: routeTables, namespace: nil, limit: 3, continueToken: token)
            seen += names(page)
            versions.insert(page.resourceVersion)
            token = page.continueToken
            pages += 1
        } while token != nil
        #expect(pages == 3)
        #expect(seen == ["a/1", "a/2", "a/3", "b/1", "b/2", "b/3", "c/1"])
        #expect(versions == [8])
    }

    @Test func continuedPagesShowTheSnapshotOfTheFirstPage() throws {
        let dir = try TemporaryDirectory()
        let store = try populated(dir)
        let first = try store.list(resource: routeTables, namespace: nil, limit: 3)
        let original = try store.list(resource: routeTables, namespace: nil).items

        // Changes behind and ahead of the cursor after the first page.
        try store.update(key("b", "2"), expectedResourceVersion: nil) { settingReplicas($0, 7) }
        try store.delete(key("b", "3"), expectedResourceVersion: nil)
        try store.create(key("b", "0"), object: manifest("b", "0"))
        try store.create(key("a", "9"), object: manifest("a", "9"))
        try store.update(key("c", "1"), expectedResourceVersion: nil) { settingReplicas($0, 5) }
        try store.update(key("c", "1"), expectedResourceVersion: nil) { settingReplicas($0, 6) }
        try store.delete(key("c", "1"), expectedResourceVersion: nil)
        try store.create(key("c", "1"), object: manifest("c", "1", spec: ["replicas": 42]))

        let second = try store.list(resource: routeTables, namespace: nil, limit: 3, continueToken: first.continueToken)
        let third = try store.list(resource: routeTables, namespace: nil, limit: 3, continueToken: second.continueToken)
        #expect(second.resourceVersion == first.resourceVersion)
        #expect(third.resourceVersion == first.resourceVersion)
        #expect(third.continueToken == nil)
        #expect(first.items + second.items + third.items == original, "pages must add up to the snapshot at the first page's version")

        let fresh = try store.list(resource: routeTables, namespace: nil)
        #expect(names(fresh) == ["a/1", "a/2", "a/3", "a/9", "b/0", "b/1", "b/2", "c/1"])
        #expect(fresh.resourceVersion == store.currentResourceVersion)
    }

    @Test(arguments: [
        "", "!!!not base64!!!", "e30", /* {} */ "bm90IGpzb24", /* "not json" */
        "eyJ2IjotMSwibnMiOiIiLCJuIjoiIn0", /* v = -1 */
        "eyJ2Ijo5OTk5OTksIm5zIjoiIiwibiI6IiJ9", /* v beyond the current version */
        String(repeating: "A", count: 10_000),
    ])
    func malformedContinueTokensAreRejected(token: String) throws {
        let dir = try TemporaryDirectory()
        let store = try populated(dir)
        #expect(throws: StoreError.badContinueToken) {
            try store.list(resource: routeTables, namespace: nil, limit: 2, continueToken: token)
        }
    }

    @Test func continueAfterCompactionPastTheSnapshotIsExpired() throws {
        let dir = try TemporaryDirectory()
        let store = try populated(dir)
        let first = try store.list(resource: routeTables, namespace: nil, limit: 3)
        for replicas in 2...6 {
            try store.update(key("c", "1"), expectedResourceVersion: nil) { settingReplicas($0, Int64(replicas)) }
        }
        // Events 9...13 are newer than the snapshot (8): keeping all five still works.
        try store.compact(keepingLast: 5)
        #expect(try store.list(resource: routeTables, namespace: nil, limit: 3, continueToken: first.continueToken).items.count == 3)
        try store.compact(keepingLast: 4)
        #expect(throws: StoreError.expired(oldest: 10)) {
            try store.list(resource: routeTables, namespace: nil, limit: 3, continueToken: first.continueToken)
        }
    }
}
