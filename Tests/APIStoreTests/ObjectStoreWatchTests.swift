import Foundation
import JSONValue
import Testing
@testable import APIStore

@Suite(.timeLimit(.minutes(2))) struct ObjectStoreWatchTests {
    @Test func watchReplaysHistoryThenDeliversLiveEventsInOrder() async throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath)
        try store.create(key("default", "a"), object: manifest("default", "a"))                    // 1
        try store.create(key("", "ns", resource: namespaces), object: ["kind": "Namespace"])       // 2
        try store.update(key("default", "a"), expectedResourceVersion: nil) { settingReplicas($0, 2) } // 3
        try store.create(key("other", "b"), object: manifest("other", "b"))                        // 4

        let watcher = try store.watch(resource: routeTables, namespace: nil, fromResourceVersion: 1)
        try store.delete(key("default", "a"), expectedResourceVersion: nil)                        // 5
        try store.create(key("default", "c"), object: manifest("default", "c"))                    // 6

        let events = await take(4, from: watcher)
        #expect(events.map(\.resourceVersion) == [3, 4, 5, 6])
        #expect(events.map(\.type) == [.modified, .added, .deleted, .added])
        #expect(events.map(\.object.key.name) == ["a", "b", "a", "c"])
        #expect(events[0].object.object["spec"]?["replicas"] == 2)
        #expect(events[2].object.object["metadata"]?["resourceVersion"] == "5")
        watcher.cancel()
    }

    @Test func watchFromNowDeliversOnlyNewEventsOfTheNamespace() async throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath)
        try store.create(key("default", "a"), object: manifest("default", "a"))
        let watcher = try store.watch(resource: routeTables, namespace: "default", fromResourceVersion: 0)
        try store.create(key("other", "b"), object: manifest("other", "b"))
        try store.update(key("default", "a"), expectedResourceVersion: nil) { settingReplicas($0, 2) }
        let events = await take(1, from: watcher)
        #expect(events.map(\.resourceVersion) == [3])
        #expect(events.map(\.type) == [.modified])
    }

    @Test func watchFromTheCurrentVersionReplaysNothing() async throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath)
        try store.create(key("default", "a"), object: manifest("default", "a"))
        let watcher = try store.watch(resource: routeTables, namespace: nil, fromResourceVersion: 1)
        try store.create(key("default", "b"), object: manifest("default", "b"))
        #expect(await take(1, from: watcher).map(\.resourceVersion) == [2])
    }

    @Test func watchFromAFutureVersionSkipsEventsUpToIt() async throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath)
        try store.create(key("default", "a"), object: manifest("default", "a"))
        let watcher = try store.watch(resource: routeTables, namespace: nil, fromResourceVersion: 3)
        for name in ["b", "c", "d"] { try store.create(key("default", name), object: manifest("default", name)) }
        #expect(await take(1, from: watcher).map(\.resourceVersion) == [4])
    }

    @Test func replayLongerThanTheBufferIsDeliveredWhole() async throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath, watchBufferLimit: 10)
        for index in 0..<600 {
            try store.create(key("default", "o\(index)"), object: manifest("default", "o\(index)"))
        }
        let watcher = try store.watch(resource: routeTables, namespace: nil, fromResourceVersion: 1)
        let events = await take(599, from: watcher)
        #expect(events.map(\.resourceVersion) == Array(2...600))
        #expect(watcher.endReason == nil)
    }

    @Test func watchFromBeforeTheRetainedHistoryIsExpired() async throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath)
        for index in 0..<20 {
            try store.create(key("default", "o\(index)"), object: manifest("default", "o\(index)"))
        }
        try store.compact(keepingLast: 5)
        #expect(throws: StoreError.expired(oldest: 16)) {
            try store.watch(resource: routeTables, namespace: nil, fromResourceVersion: 14)
        }
        let watcher = try store.watch(resource: routeTables, namespace: nil, fromResourceVersion: 15)
        #expect(await take(5, from: watcher).map(\.resourceVersion) == [16, 17, 18, 19, 20])
    }

    @Test func historyIsBoundedByHistoryLimit() throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath, historyLimit: 10)
        for index in 0..<30 {
            try store.create(key("default", "o\(index)"), object: manifest("default", "o\(index)"))
        }
        let retained = try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events") }
        #expect(retained == 10)
        #expect(throws: StoreError.expired(oldest: 21)) {
            try store.watch(resource: routeTables, namespace: nil, fromResourceVersion: 5)
        }
    }

    @Test func compactionDuringReplayEndsTheWatchInsteadOfSkipping() async throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath)
        for index in 0..<(Watcher.replayPageSize * 3) {
            try store.create(key("default", "o\(index)"), object: manifest("default", "o\(index)"))
        }
        let watcher = try store.watch(resource: routeTables, namespace: nil, fromResourceVersion: 1)
        var received: [Int64] = []
        for await event in watcher {
            received.append(event.resourceVersion)
            if received.count == 1 { try store.compact(keepingLast: 10) }
        }
        #expect(received == Array(2...Int64(1 + received.count)), "what was delivered must be gapless")
        #expect(received.count < Watcher.replayPageSize * 3 - 1)
        guard case .expired? = watcher.endReason else {
            Issue.record("expected the watch to end as expired, got \(String(describing: watcher.endReason))")
            return
        }
    }

    @Test func slowWatcherDoesNotBlockWritersOrOtherWatchers() async throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath, watchBufferLimit: 10)
        let slow = try store.watch(resource: routeTables, namespace: nil, fromResourceVersion: nil)
        let healthy = try store.watch(resource: routeTables, namespace: nil, fromResourceVersion: nil)
        // The healthy consumer is kept in step with the writer (never more
        // than one event behind), so the test does not depend on how fast
        // this machine schedules it; the slow one never reads.
        var delivered: [WatchEvent] = []
        var iterator = healthy.makeAsyncIterator()
        for index in 0..<200 {
            try store.create(key("default", "o\(index)"), object: manifest("default", "o\(index)"))
            guard let event = await iterator.next() else { break }
            delivered.append(event)
        }
        #expect(delivered.map(\.resourceVersion) == Array(1...200))
        #expect(slow.endReason == .overflow)
        var slowEvents: [Int64] = []
        for await event in slow { slowEvents.append(event.resourceVersion) }
        #expect(slowEvents == Array(1...10), "the slow watcher keeps a gapless prefix, then ends")
        #expect(store.hub.subscriberCount == 1)
        healthy.cancel()
        #expect(store.hub.subscriberCount == 0)
        #expect(healthy.endReason == .cancelled)
    }

    @Test func cancelEndsIterationAndUnsubscribes() async throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath)
        let watcher = try store.watch(resource: routeTables, namespace: nil, fromResourceVersion: nil)
        #expect(store.hub.subscriberCount == 1)
        let consumer = Task { await take(10, from: watcher) }
        try store.create(key("default", "a"), object: manifest("default", "a"))
        watcher.cancel()
        let events = await consumer.value
        #expect(events.count <= 1)
        #expect(store.hub.subscriberCount == 0)
    }

    /// 4 writers × 500 writes over two resources while watchers start at
    /// arbitrary versions; every watcher must see exactly the events of its
    /// resource after its start version, once each and in order. A watcher
    /// that falls behind and is dropped re-watches from the last version it
    /// saw, as a Kubernetes client does.
    @Test(.timeLimit(.minutes(2)), arguments: [1_000, 16])
    func concurrentWritersAndWatchersSeeEveryEventExactlyOnce(watchBufferLimit: Int) async throws {
        let dir = try TemporaryDirectory()
        let store = try ObjectStore(path: dir.databasePath, watchBufferLimit: watchBufferLimit)
        let other = "routelet.dev/other"
        try store.create(key("default", "seed"), object: manifest("default", "seed"))

        let writers = (0..<4).map { writer in
            Task { () throws -> [(Int64, String, WatchEvent.EventType)] in
                var log: [(Int64, String, WatchEvent.EventType)] = []
                var live: Set<Int> = []
                var generator = SystemRandomNumberGenerator()
                for step in 0..<500 {
                    let slot = Int.random(in: 0..<8, using: &generator)
                    let resource = slot % 2 == 0 ? routeTables : other
                    let k = key("w\(writer)", "o\(slot)", resource: resource)
                    let result: StoredObject
                    let type: WatchEvent.EventType
                    if !live.contains(slot) {
                        result = try store.create(k, object: manifest(k.namespace, k.name))
                        type = .added
                        live.insert(slot)
                    } else if step % 7 == 0 {
                        result = try store.delete(k, expectedResourceVersion: nil)
                        type = .deleted
                        live.remove(slot)
                    } else {
                        result = try store.update(k, expectedResourceVersion: nil) {
                            // Never the creation value 1, so no update is a no-op.
                            settingReplicas($0, Int64(1_000 * (writer + 1) + step))
                        }
                        type = .modified
                    }
                    log.append((result.resourceVersion, resource, type))
                    if step % 3 == 0 { await Task.yield() }
                }
                return log
            }
        }

        let watchers = (0..<6).map { index in
            Task { () throws -> (start: Int64, seen: [Int64], rewatches: Int) in
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...150)))
                let current = store.currentResourceVersion
                let start = index % 2 == 0 ? current : max(1, current - Int64.random(in: 0...300))
                var seen: [Int64] = []
                var resumeFrom = start
                var rewatches = 0
                while true {
                    let watcher = try store.watch(resource: routeTables, namespace: nil, fromResourceVersion: resumeFrom)
                    for await event in watcher {
                        seen.append(event.resourceVersion)
                        resumeFrom = event.resourceVersion
                        // With the small buffer, stall now and then so that
                        // watchers overflow and resume through replay.
                        if watchBufferLimit < 100, seen.count % 64 == 0 {
                            try await Task.sleep(for: .milliseconds(20))
                        }
                        if event.object.key.name == "sentinel" { return (start, seen, rewatches) }
                    }
                    rewatches += 1
                }
            }
        }

        var log: [(Int64, String, WatchEvent.EventType)] = []
        for writer in writers { log += try await writer.value }
        let sentinel = try store.create(key("default", "sentinel"), object: manifest("default", "sentinel"))

        let allVersions = log.map(\.0).sorted()
        #expect(firstDifference(allVersions, Array(2...2_001)) == nil, "every write gets its own version, without gaps")
        let matching = log.filter { $0.1 == routeTables }.map(\.0).sorted() + [sentinel.resourceVersion]

        var rewatches = 0
        for watcher in watchers {
            let (start, seen, dropped) = try await watcher.value
            rewatches += dropped
            let expected = matching.filter { $0 > start }
            let difference = firstDifference(seen, expected)
            #expect(difference == nil, "watcher from \(start): \(seen.count) events seen, \(expected.count) expected")
        }
        print("exactly-once test, buffer \(watchBufferLimit): \(rewatches) re-watches after overflow")
    }
}
