import Foundation
import JSONValue
import KubeClient
import NetLab
import Testing

// MARK: - Helpers

/// Always draws exactly one half: no jitter (factor 1) and the middle watch
/// timeout (450 s of 300...600), so delays can be compared exactly.
private struct MidpointGenerator: RandomNumberGenerator, Sendable {
    func next() -> UInt64 { 1 << 63 }
}


/// An object as the API returns it: name, resourceVersion, optional namespace.
private func object(_ name: String, _ version: String, namespace: String? = nil, spec: JSONValue? = nil) -> JSONValue {
    var metadata: JSONObject = ["name": .string(name), "resourceVersion": .string(version)]
    if let namespace { metadata["namespace"] = .string(namespace) }
    var object: JSONObject = ["kind": "Thing", "metadata": .object(metadata)]
    if let spec { object["spec"] = spec }
    return .object(object)
}

private func event(_ type: WatchEvent.EventType, _ object: JSONValue) -> WatchEvent {
    WatchEvent(type: type, object: object)
}

private func bookmark(_ version: String) -> WatchEvent {
    event(.bookmark, ["kind": "Thing", "metadata": ["resourceVersion": .string(version)]])
}

private func errorEvent(code: Int64?, reason: String?) -> WatchEvent {
    var status: JSONObject = ["kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "boom"]
    if let code { status["code"] = .integer(code) }
    if let reason { status["reason"] = .string(reason) }
    return event(.error, .object(status))
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

private let midWatchTimeout = 450

private func watch(from version: String, after delay: Duration = .zero) -> ListWatch.Action {
    .watch(from: version, timeoutSeconds: midWatchTimeout, allowBookmarks: true, after: delay)
}

/// A machine that has listed `items` at `version` and is watching.
private func syncedMachine(_ items: [JSONValue] = [], version: String = "10",
                           configuration: ListWatch.Configuration = .init()) -> ListWatch {
    var machine = ListWatch(configuration: configuration, generator: MidpointGenerator())
    _ = machine.start()
    _ = machine.listed(items: items, resourceVersion: version)
    return machine
}

private func keyed(_ items: [JSONValue]) -> [ListWatch.Key: JSONValue] {
    Dictionary(items.map { (ListWatch.Key(of: $0)!, $0) }, uniquingKeysWith: { $1 })
}

// MARK: - Listing

@Suite("ListWatch: listing")
struct ListWatchListingTests {
    @Test("start asks for a list at once")
    func startLists() {
        var machine = ListWatch(generator: MidpointGenerator())
        #expect(machine.phase == .idle)
        #expect(machine.start() == .list(after: .zero))
        #expect(machine.phase == .listing)
        #expect(machine.counters == ListWatch.Counters(lists: 1, relists: 0, watches: 0, failures: 0))
        #expect(!machine.hasSynced)
        #expect(machine.resourceVersion == "")
    }

    @Test("the first list adds every object, then reports synced once, then watches from the list's version")
    func firstList() {
        var machine = ListWatch(generator: MidpointGenerator())
        _ = machine.start()
        let a = object("a", "3"), b = object("b", "7", namespace: "ns")
        let (changes, action) = machine.listed(items: [a, b], resourceVersion: "10")
        #expect(changes == [.added(a), .added(b), .synced])
        #expect(action == .watch(from: "10", timeoutSeconds: 450, allowBookmarks: true, after: .zero))
        #expect(machine.hasSynced)
        #expect(machine.phase == .watching)
        #expect(machine.resourceVersion == "10")
        #expect(machine.objects == keyed([a, b]))
        #expect(machine.sortedKeys == [ListWatch.Key(name: "a"), ListWatch.Key(namespace: "ns", name: "b")])
        #expect(machine.sortedObjects == [a, b])
        #expect(machine.counters == ListWatch.Counters(lists: 1, relists: 0, watches: 1, failures: 0))
    }

    @Test("an empty first list still reports synced")
    func emptyFirstList() {
        var machine = ListWatch(generator: MidpointGenerator())
        _ = machine.start()
        #expect(machine.listed(items: [], resourceVersion: "1").changes == [.synced])
    }

    @Test("a relist reports modified for changed versions, added for new keys, deleted with the last known object, and no second synced")
    func relistDiff() {
        let a = object("a", "1"), b = object("b", "2"), c = object("c", "3")
        var machine = syncedMachine([a, b, c])
        #expect(machine.received(errorEvent(code: 410, reason: "Expired")).action == .list(after: .zero))
        let b2 = object("b", "20"), d = object("d", "21")
        let (changes, action) = machine.listed(items: [a, b2, d], resourceVersion: "30")
        #expect(changes == [.modified(b2), .added(d), .deleted(c)])
        #expect(action == watch(from: "30"))
        #expect(machine.objects == keyed([a, b2, d]))
        #expect(machine.resourceVersion == "30")
    }

    @Test("keys are namespace plus name; a repeated key keeps the last item; nameless items are skipped")
    func listKeys() {
        var machine = ListWatch(generator: MidpointGenerator())
        _ = machine.start()
        let x1 = object("x", "1", namespace: "one"), x2 = object("x", "2", namespace: "two")
        let early = object("y", "3"), late = object("y", "4")
        let nameless: JSONValue = ["metadata": ["resourceVersion": "5"]]
        let changes = machine.listed(items: [x1, x2, early, nameless, late], resourceVersion: "9").changes
        #expect(changes == [.added(x1), .added(x2), .added(late), .synced])
        #expect(machine.objects.count == 3)
        #expect(machine.objects[ListWatch.Key(name: "y")] == late)
        #expect(ListWatch.Key(namespace: "one", name: "x").description == "one/x")
        #expect(ListWatch.Key(of: nameless) == nil)
    }

    @Test("objects without resourceVersions are compared by content")
    func versionlessObjects() {
        let plain: JSONValue = ["metadata": ["name": "p"], "spec": 1]
        let changed: JSONValue = ["metadata": ["name": "p"], "spec": 2]
        var machine = syncedMachine([plain])
        _ = machine.watchFailed(.status(code: 410))
        #expect(machine.listed(items: [plain], resourceVersion: "11").changes == [])
        _ = machine.watchFailed(.status(code: 410))
        #expect(machine.listed(items: [changed], resourceVersion: "12").changes == [.modified(changed)])
    }

    @Test("a failed list is retried after backoff and keeps the cache")
    func listFailure() {
        let a = object("a", "1")
        var machine = syncedMachine([a])
        _ = machine.watchFailed(.status(code: 410))
        #expect(machine.listFailed(.transport("connection refused")) == .list(after: .milliseconds(800)))
        #expect(machine.listFailed(.status(code: 503)) == .list(after: .milliseconds(1600)))
        #expect(machine.objects == keyed([a]))
        #expect(machine.lastFailure == .status(code: 503))
        #expect(machine.counters == ListWatch.Counters(lists: 4, relists: 1, watches: 1, failures: 2))
        #expect(machine.listed(items: [a], resourceVersion: "12").changes == [])
    }

    @Test("a failed first list is retried and the eventual success reports synced")
    func firstListFailure() {
        var machine = ListWatch(generator: MidpointGenerator())
        _ = machine.start()
        #expect(machine.listFailed(.transport("TLS handshake")) == .list(after: .milliseconds(800)))
        #expect(!machine.hasSynced)
        #expect(machine.listed(items: [], resourceVersion: "5").changes == [.synced])
        #expect(machine.counters.relists == 0)
    }

    @Test("listed(_:) takes a complete ListResponse")
    func listedResponse() {
        var machine = ListWatch(generator: MidpointGenerator())
        _ = machine.start()
        let a = object("a", "1")
        let (changes, action) = machine.listed(ListResponse(items: [a], resourceVersion: "8"))
        #expect(changes == [.added(a), .synced])
        #expect(action == watch(from: "8"))
    }

    @Test("a list outside the listing phase is a programming error")
    func listedWhileWatchingTraps() async {
        await #expect(processExitsWith: .failure) {
            var machine = ListWatch()
            _ = machine.listed(items: [], resourceVersion: "1")
        }
    }
}

// MARK: - Watch events

@Suite("ListWatch: watch events")
struct ListWatchEventTests {
    @Test("ADDED for a new key adds it and advances the resume version")
    func addedNew() {
        var machine = syncedMachine()
        let a = object("a", "11")
        let (change, action) = machine.received(event(.added, a))
        #expect(change == .added(a))
        #expect(action == nil)
        #expect(machine.objects == keyed([a]))
        #expect(machine.resourceVersion == "11")
    }

    @Test("ADDED for a key cached at the same version reports nothing; at another version, modified")
    func addedExisting() {
        let a = object("a", "5")
        var machine = syncedMachine([a])
        #expect(machine.received(event(.added, a)) == (nil, nil))
        let a2 = object("a", "12")
        #expect(machine.received(event(.added, a2)).change == .modified(a2))
        #expect(machine.objects == keyed([a2]))
    }

    @Test("MODIFIED replaces the cached object; for an unknown key it is an add; at the cached version, nothing")
    func modified() {
        let a = object("a", "5")
        var machine = syncedMachine([a])
        let a2 = object("a", "11", spec: ["x": 1])
        #expect(machine.received(event(.modified, a2)).change == .modified(a2))
        #expect(machine.received(event(.modified, a2)).change == nil)
        let b = object("b", "12")
        #expect(machine.received(event(.modified, b)).change == .added(b))
        #expect(machine.objects == keyed([a2, b]))
        #expect(machine.resourceVersion == "12")
    }

    @Test("DELETED removes the object and reports the event's object; an unknown key reports nothing")
    func deleted() {
        let a = object("a", "5"), b = object("b", "6")
        var machine = syncedMachine([a, b])
        let finalA = object("a", "13")
        #expect(machine.received(event(.deleted, finalA)) == (.deleted(finalA), nil))
        #expect(machine.objects == keyed([b]))
        #expect(machine.received(event(.deleted, object("ghost", "14"))) == (nil, nil))
        #expect(machine.resourceVersion == "14")
    }

    @Test("BOOKMARK only moves the resume version")
    func bookmarkMovesVersion() {
        let a = object("a", "5")
        var machine = syncedMachine([a])
        #expect(machine.received(bookmark("99")) == (nil, nil))
        #expect(machine.resourceVersion == "99")
        #expect(machine.objects == keyed([a]))
        #expect(machine.watchEnded(after: .seconds(450)) == watch(from: "99"))
    }

    @Test("namespaced objects with one name are distinct keys")
    func namespacedKeys() {
        var machine = syncedMachine()
        let one = object("x", "11", namespace: "one"), two = object("x", "12", namespace: "two")
        #expect(machine.received(event(.added, one)).change == .added(one))
        #expect(machine.received(event(.added, two)).change == .added(two))
        #expect(machine.received(event(.deleted, one)).change == .deleted(one))
        #expect(machine.objects == keyed([two]))
    }

    @Test("events that arrive while listing (stale lines of an abandoned stream) are ignored")
    func eventsWhileListingIgnored() {
        var machine = syncedMachine()
        _ = machine.received(errorEvent(code: 410, reason: nil))
        #expect(machine.received(event(.added, object("a", "50"))) == (nil, nil))
        #expect(machine.received(line: bytes("garbage")) == (nil, nil))
        #expect(machine.objects.isEmpty)
        #expect(machine.resourceVersion == "10")
        #expect(machine.phase == .listing)
    }

    @Test("an ADDED event without a name fails the watch instead of corrupting the cache")
    func namelessEvent() {
        var machine = syncedMachine()
        let action = machine.received(event(.added, ["metadata": ["resourceVersion": "11"]])).action
        #expect(action == watch(from: "10", after: .milliseconds(800)))
        #expect(machine.objects.isEmpty)
        #expect(machine.counters.failures == 1)
    }

    @Test("received(line:) decodes the line, and ignores blank keep-alive lines")
    func receivedLine() {
        var machine = syncedMachine()
        #expect(machine.received(line: bytes("\r\n")) == (nil, nil))
        let (change, action) = machine.received(
            line: bytes(#"{"type":"ADDED","object":{"kind":"Thing","metadata":{"name":"a","resourceVersion":"11"}}}"# + "\n"))
        #expect(change == .added(object("a", "11")))
        #expect(action == nil)
    }
}

// MARK: - Restarts and errors

@Suite("ListWatch: restarts and errors")
struct ListWatchRestartTests {
    @Test("an ERROR event with code 410 relists at once and counts a relist, not a failure")
    func error410Relists() {
        var machine = syncedMachine()
        #expect(machine.received(errorEvent(code: 410, reason: "Expired")) == (nil, .list(after: .zero)))
        #expect(machine.phase == .listing)
        #expect(machine.counters == ListWatch.Counters(lists: 2, relists: 1, watches: 1, failures: 0))
    }

    @Test("an ERROR event with reason Expired or Gone relists even without a code",
          arguments: ["Expired", "Gone"])
    func errorReasonRelists(reason: String) {
        var machine = syncedMachine()
        #expect(machine.received(errorEvent(code: nil, reason: reason)).action == .list(after: .zero))
        #expect(machine.counters.relists == 1)
    }

    @Test("another ERROR event watches again from the last version after backoff")
    func otherErrorRewatches() {
        var machine = syncedMachine()
        _ = machine.received(event(.added, object("a", "11")))
        let action = machine.received(errorEvent(code: 500, reason: "InternalError")).action
        #expect(action == watch(from: "11", after: .milliseconds(800)))
        #expect(machine.counters == ListWatch.Counters(lists: 1, relists: 0, watches: 2, failures: 1))
        #expect(machine.lastFailure == .status(code: 500, reason: "InternalError", message: "boom"))
    }

    @Test("a cleanly ended watch resumes from the last version at once")
    func cleanEndResumes() {
        var machine = syncedMachine()
        _ = machine.received(event(.added, object("a", "11")))
        #expect(machine.watchEnded(after: .milliseconds(10)) == watch(from: "11"))
        #expect(machine.watchEnded(after: .seconds(600)) == watch(from: "11"))
        #expect(machine.counters == ListWatch.Counters(lists: 1, relists: 0, watches: 3, failures: 0))
    }

    @Test("a watch that closes at once with nothing delivered is a failure, retried after backoff")
    func shortWatchBacksOff() {
        var machine = syncedMachine()
        #expect(machine.watchEnded(after: .milliseconds(5)) == watch(from: "10", after: .milliseconds(800)))
        #expect(machine.lastFailure == .shortWatch(.milliseconds(5)))
        #expect(machine.counters.failures == 1)
    }

    @Test("a failed watch request resumes from the last version after backoff",
          arguments: [ListWatch.Failure.transport("connection refused"), .transport("TLS: certificate expired"),
                      .transport("silent for 60 s"), .status(code: 500), .status(code: 503, reason: "ServiceUnavailable"),
                      .malformed("not JSON")])
    func watchFailureBacksOff(failure: ListWatch.Failure) {
        var machine = syncedMachine()
        _ = machine.received(bookmark("15"))
        #expect(machine.watchFailed(failure) == watch(from: "15", after: .milliseconds(800)))
        #expect(machine.lastFailure == failure)
        #expect(machine.counters == ListWatch.Counters(lists: 1, relists: 0, watches: 2, failures: 1))
    }

    @Test("HTTP 410 on the watch request relists at once")
    func watchRequest410Relists() {
        var machine = syncedMachine()
        #expect(machine.watchFailed(.status(code: 410, reason: "Gone")) == .list(after: .zero))
        #expect(machine.counters == ListWatch.Counters(lists: 2, relists: 1, watches: 1, failures: 0))
    }

    @Test("a malformed line fails the watch: resume from the last good version after backoff")
    func malformedLineBacksOff() {
        var machine = syncedMachine()
        _ = machine.received(line: bytes(#"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"12"}}}"#))
        let (change, action) = machine.received(line: bytes(#"{"type":"ADDED","object":{"metad"#))
        #expect(change == nil)
        #expect(action == watch(from: "12", after: .milliseconds(800)))
        guard case .malformed(let text)? = machine.lastFailure else {
            Issue.record("expected a malformed failure, got \(String(describing: machine.lastFailure))")
            return
        }
        #expect(text.contains("not valid JSON"))
    }
}

// MARK: - Backoff and randomness

@Suite("ListWatch: backoff and randomness")
struct ListWatchBackoffTests {
    static let doubling: [Duration] = [.milliseconds(800), .milliseconds(1600), .milliseconds(3200), .milliseconds(6400),
                                       .milliseconds(12800), .milliseconds(25600), .seconds(30), .seconds(30), .seconds(30)]

    @Test("list backoff doubles from 0.8 s to a 30 s cap, and a successful list resets it")
    func listBackoffSequence() {
        var machine = ListWatch(generator: MidpointGenerator())
        _ = machine.start()
        let delays = Self.doubling.indices.map { _ in machine.listFailed(.transport("refused")).delay }
        #expect(delays == Self.doubling)
        _ = machine.listed(items: [], resourceVersion: "1")
        #expect(machine.consecutiveFailures == 0)
        #expect(machine.watchFailed(.transport("refused")).delay == .milliseconds(800))
    }

    @Test("watch backoff doubles the same way, and an event or a bookmark resets it",
          arguments: [bookmark("20"), event(.added, object("a", "20"))])
    func watchBackoffResetByDelivery(delivery: WatchEvent) {
        var machine = syncedMachine()
        let delays = Self.doubling.indices.map { _ in machine.watchFailed(.transport("refused")).delay }
        #expect(delays == Self.doubling)
        _ = machine.received(delivery)
        #expect(machine.consecutiveFailures == 0)
        #expect(machine.watchFailed(.transport("refused")) == watch(from: "20", after: .milliseconds(800)))
    }

    @Test("a watch that ends with nothing delivered does not reset the backoff")
    func emptyWatchKeepsBackoff() {
        var machine = syncedMachine()
        _ = machine.watchFailed(.transport("refused"))
        #expect(machine.watchEnded(after: .seconds(450)).delay == .zero)
        #expect(machine.watchFailed(.transport("refused")).delay == .milliseconds(1600))
    }

    @Test("jitter keeps each delay within ±20 % of the base, varies, and replays for the same seed")
    func jitterBounds() {
        func delays(seed: UInt64) -> [Duration] {
            var machine = ListWatch(generator: SplitMix64(seed: seed))
            _ = machine.start()
            return (0..<40).map { _ in machine.listFailed(.transport("refused")).delay }
        }
        let jittered = delays(seed: 42)
        for (index, delay) in jittered.enumerated() {
            let base = Self.doubling[min(index, Self.doubling.count - 1)]
            #expect(delay >= base * 0.8 && delay <= base * 1.2, "delay \(index) = \(delay), base \(base)")
        }
        #expect(Set(jittered.suffix(30)).count > 20, "capped delays should still be jittered")
        #expect(delays(seed: 42) == jittered)
        #expect(delays(seed: 43) != jittered)
    }

    @Test("with jitter off the sequence is exact whatever the generator")
    func jitterOff() {
        var machine = ListWatch(configuration: .init(backoffJitter: 0), generator: SplitMix64(seed: 7))
        _ = machine.start()
        #expect(Self.doubling.indices.map { _ in machine.listFailed(.transport("x")).delay } == Self.doubling)
    }

    @Test("watch timeouts are drawn from the configured range, replayably")
    func watchTimeouts() {
        func timeouts(seed: UInt64, range: ClosedRange<Int>) -> [Int] {
            var machine = ListWatch(configuration: .init(watchTimeoutSeconds: range), generator: SplitMix64(seed: seed))
            _ = machine.start()
            _ = machine.listed(items: [], resourceVersion: "1")
            return (0..<200).map { _ in
                guard case .watch(_, let timeout, _, _) = machine.watchEnded(after: .seconds(1)) else { return -1 }
                return timeout
            }
        }
        let drawn = timeouts(seed: 1, range: 300...600)
        #expect(drawn.allSatisfy { (300...600).contains($0) })
        #expect(Set(drawn).count > 100)
        #expect(timeouts(seed: 1, range: 300...600) == drawn)
        #expect(Set(timeouts(seed: 2, range: 5...5)) == [5])
        #expect(Set(timeouts(seed: 3, range: 1...2)) == [1, 2])
    }

    @Test("bookmarks can be turned off")
    func bookmarksOff() {
        var machine = ListWatch(configuration: .init(allowBookmarks: false), generator: MidpointGenerator())
        _ = machine.start()
        #expect(machine.listed(items: [], resourceVersion: "3").action
                    == .watch(from: "3", timeoutSeconds: 450, allowBookmarks: false, after: .zero))
    }
}

// MARK: - Whole histories

@Suite("ListWatch: histories")
struct ListWatchHistoryTests {
    @Test("list, events, 410, relist: exactly the vanished object's delete and the changed object's modify")
    func expiryAndRelist() {
        let a = object("a", "1"), b = object("b", "2"), c = object("c", "3")
        var machine = ListWatch(generator: MidpointGenerator())
        #expect(machine.start() == .list(after: .zero))
        var (changes, action) = machine.listed(items: [a, b, c], resourceVersion: "10")
        #expect(changes == [.added(a), .added(b), .added(c), .synced])
        #expect(action == watch(from: "10"))

        let d = object("d", "11"), a12 = object("a", "12")
        #expect(machine.received(event(.added, d)).change == .added(d))
        #expect(machine.received(event(.modified, a12)).change == .modified(a12))
        #expect(machine.received(bookmark("13")) == (nil, nil))
        #expect(machine.received(errorEvent(code: 410, reason: "Expired")) == (nil, .list(after: .zero)))

        // While the watch was down, c was deleted and b changed.
        let b15 = object("b", "15", spec: ["changed": true])
        (changes, action) = machine.listed(items: [a12, b15, d], resourceVersion: "20")
        #expect(changes == [.modified(b15), .deleted(c)])
        #expect(action == watch(from: "20"))
        #expect(machine.objects == keyed([a12, b15, d]))
        #expect(machine.sortedObjects == [a12, b15, d])
        #expect(machine.counters == ListWatch.Counters(lists: 2, relists: 1, watches: 2, failures: 0))
    }

    @Test("random histories applied as events leave a cache that a relist of the true state does not change",
          arguments: 1...60)
    func randomHistories(seed: Int) {
        var random = SplitMix64(seed: UInt64(seed))
        var machine = ListWatch(generator: SplitMix64(seed: UInt64(seed) &* 31))
        var truth: [ListWatch.Key: JSONValue] = [:]
        var version = 100
        let keys = ["", "one", "two"].flatMap { namespace in
            (0..<5).map { ListWatch.Key(namespace: namespace, name: "n\($0)") }
        }
        func next() -> String {
            version += 1
            return String(version)
        }
        func make(_ key: ListWatch.Key, _ version: String) -> JSONValue {
            object(key.name, version, namespace: key.namespace.isEmpty ? nil : key.namespace,
                   spec: ["value": .integer(Int64(random.next() % 1000))])
        }

        _ = machine.start()
        var initial: [JSONValue] = []
        for key in keys where random.next() % 2 == 0 {
            let item = make(key, next())
            truth[key] = item
            initial.append(item)
        }
        _ = machine.listed(items: initial, resourceVersion: next())

        for step in 0..<200 {
            let roll = random.next() % 100
            if roll < 5 {
                // The server closed the stream at its timeout: resume where the events left off.
                guard case .watch(let from, _, _, let delay) = machine.watchEnded(after: .seconds(300)) else {
                    Issue.record("step \(step): a clean end should watch again")
                    continue
                }
                #expect(from == machine.resourceVersion && delay == .zero, "step \(step)")
                continue
            }
            if roll < 8 {
                let action = machine.watchFailed(.transport("reset by peer"))
                #expect(action.delay > .zero, "step \(step)")
                continue
            }
            if roll < 15 {
                let mark = next()
                #expect(machine.received(bookmark(mark)) == (nil, nil), "step \(step)")
                continue
            }
            let key = keys[Int(random.next() % UInt64(keys.count))]
            let expected: ListWatch.Change?
            let sent: WatchEvent
            if let current = truth[key] {
                switch random.next() % 10 {
                case 0..<5:
                    let updated = make(key, next())
                    truth[key] = updated
                    sent = event(.modified, updated)
                    expected = .modified(updated)
                case 5..<8:
                    let final = make(key, next())
                    truth[key] = nil
                    sent = event(.deleted, final)
                    expected = .deleted(final)
                default:
                    sent = event(.added, current)
                    expected = nil
                }
            } else {
                let created = make(key, next())
                truth[key] = created
                sent = event(.added, created)
                expected = .added(created)
            }
            let (change, action) = machine.received(sent)
            #expect(change == expected, "step \(step): \(sent.type) \(key)")
            #expect(action == nil, "step \(step)")
            #expect(machine.objects == truth, "step \(step): cache diverged after \(sent.type) \(key)")
        }

        let resume = machine.resourceVersion
        #expect(machine.received(line: bytes(#"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}}"#))
                    == (nil, .list(after: .zero)))
        #expect(machine.resourceVersion == resume)
        var finalItems = Array(truth.values)
        finalItems.shuffle(using: &random)
        let (changes, _) = machine.listed(items: finalItems, resourceVersion: next())
        #expect(changes == [], "seed \(seed): a relist of the true state changed the cache")
        #expect(machine.objects == truth)
        #expect(machine.sortedKeys == truth.keys.sorted())
    }
}

// MARK: - Decoding

@Suite("WatchEvent decoding")
struct WatchEventDecodingTests {
    @Test("each event type decodes, with or without a trailing newline",
          arguments: [
            (#"{"type":"ADDED","object":{"metadata":{"name":"a","namespace":"ns","resourceVersion":"5"}}}"#, WatchEvent.EventType.added),
            (#"{"type":"MODIFIED","object":{"metadata":{"name":"a","resourceVersion":"6"},"spec":{}}}"# + "\n", .modified),
            (#"{"type":"DELETED","object":{"metadata":{"name":"a"}}}"# + "\r\n", .deleted),
            (#"{"type":"BOOKMARK","object":{"kind":"Thing","metadata":{"resourceVersion":"7","annotations":{"k8s.io/initial-events-end":"true"}}}}"#, .bookmark),
            (#"{"type":"ERROR","object":{"kind":"Status","status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410}}"#, .error),
            (#"{"type":"ERROR","object":{}}"#, .error),
          ] as [(String, WatchEvent.EventType)])
    func decodesEachType(line: String, type: WatchEvent.EventType) throws {
        let event = try WatchEvent(line: Data(line.utf8))
        #expect(event.type == type)
        #expect(event.object.objectValue != nil)
    }

    @Test("an ERROR event exposes its Status")
    func errorStatus() throws {
        let event = try WatchEvent(line: bytes(#"{"type":"ERROR","object":{"kind":"Status","message":"gone","reason":"Expired","code":410}}"#))
        #expect(event.status?.code == 410)
        #expect(event.status?.reason == "Expired")
        #expect(event.status?.message == "gone")
        #expect(event.resourceVersion == nil)
        #expect(WatchEvent(type: .added, object: object("a", "3")).status == nil)
        #expect(WatchEvent(type: .added, object: object("a", "3")).resourceVersion == "3")
    }

    @Test("malformed lines give an error naming the problem and the field",
          arguments: [
            ("garbage bytes", [0xFF, 0xFE, 0x00, 0x41], ListWatchDecodingError.Code.notJSON, ""),
            ("empty", [], .notJSON, ""),
            ("truncated", Array(#"{"type":"ADDED","object":{"metadata":{"name":"a""#.utf8), .notJSON, ""),
            ("two documents", Array(#"{"type":"BOOKMARK"} {}"#.utf8), .notJSON, ""),
            ("an array", Array("[]".utf8), .wrongType, ""),
            ("a string", Array(#""ADDED""#.utf8), .wrongType, ""),
            ("no type", Array(#"{"object":{}}"#.utf8), .missingField, "type"),
            ("null type", Array(#"{"type":null,"object":{}}"#.utf8), .missingField, "type"),
            ("numeric type", Array(#"{"type":5,"object":{}}"#.utf8), .wrongType, "type"),
            ("unknown type", Array(#"{"type":"UPDATED","object":{}}"#.utf8), .unknownEventType, "type"),
            ("lowercase type", Array(#"{"type":"added","object":{}}"#.utf8), .unknownEventType, "type"),
            ("no object", Array(#"{"type":"ADDED"}"#.utf8), .missingField, "object"),
            ("null object", Array(#"{"type":"ADDED","object":null}"#.utf8), .missingField, "object"),
            ("string object", Array(#"{"type":"ERROR","object":"x"}"#.utf8), .wrongType, "object"),
            ("array object", Array(#"{"type":"MODIFIED","object":[]}"#.utf8), .wrongType, "object"),
            ("no metadata", Array(#"{"type":"ADDED","object":{}}"#.utf8), .missingField, "object.metadata"),
            ("metadata array", Array(#"{"type":"ADDED","object":{"metadata":[]}}"#.utf8), .wrongType, "object.metadata"),
            ("no name", Array(#"{"type":"DELETED","object":{"metadata":{}}}"#.utf8), .missingField, "object.metadata.name"),
            ("numeric name", Array(#"{"type":"MODIFIED","object":{"metadata":{"name":7}}}"#.utf8), .wrongType, "object.metadata.name"),
            ("empty name", Array(#"{"type":"ADDED","object":{"metadata":{"name":""}}}"#.utf8), .invalidValue, "object.metadata.name"),
            ("numeric namespace", Array(#"{"type":"ADDED","object":{"metadata":{"name":"a","namespace":1}}}"#.utf8), .wrongType, "object.metadata.namespace"),
            ("numeric resourceVersion", Array(#"{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":5}}}"#.utf8), .wrongType, "object.metadata.resourceVersion"),
            ("bookmark without version", Array(#"{"type":"BOOKMARK","object":{"metadata":{}}}"#.utf8), .missingField, "object.metadata.resourceVersion"),
            ("bookmark without metadata", Array(#"{"type":"BOOKMARK","object":{}}"#.utf8), .missingField, "object.metadata"),
          ] as [(String, [UInt8], ListWatchDecodingError.Code, String)])
    func malformedLines(label: String, line: [UInt8], code: ListWatchDecodingError.Code, field: String) {
        do {
            let event = try WatchEvent(line: line)
            Issue.record("\(label): decoded as \(event)")
        } catch {
            #expect(error.code == code, "\(label): \(error)")
            #expect(error.field == field, "\(label): \(error)")
            #expect(error.document == .watchEvent)
            #expect(error.description.hasPrefix("watch event: "), "\(label): \(error)")
        }
    }

    @Test("the error quotes the start of the input, cut at 120 bytes")
    func errorExcerpt() {
        let long = #"{"type":"NOPE","object":{"padding":""# + String(repeating: "x", count: 500) + #""}}"#
        #expect(throws: ListWatchDecodingError.self) { try WatchEvent(line: bytes(long)) }
        do {
            _ = try WatchEvent(line: bytes(long))
        } catch {
            #expect(error.excerpt.hasPrefix(#"{"type":"NOPE""#))
            #expect(error.excerpt.utf8.count == 123)
            #expect(error.description.contains(#"type: unknown event type "NOPE""#), "\(error)")
        }
    }

    @Test("every truncation of a valid line is an error, not a crash")
    func truncations() {
        let line = bytes(#"{"type":"MODIFIED","object":{"metadata":{"name":"a","namespace":"n","resourceVersion":"9"},"spec":{"x":[1,2.5,"é"]}}}"#)
        #expect((try? WatchEvent(line: line)) != nil)
        for length in 0..<line.count {
            #expect(throws: ListWatchDecodingError.self, "prefix of \(length) bytes") { try WatchEvent(line: line.prefix(length)) }
        }
    }

    @Test("random bytes and random corruptions of a valid line never crash the decoder or the machine")
    func randomBytes() {
        var random = SplitMix64(seed: 2024)
        let valid = bytes(#"{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"9"}}}"#)
        var machine = syncedMachine()
        for _ in 0..<2000 {
            var line: [UInt8]
            if random.next() % 2 == 0 {
                line = (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            } else {
                line = valid
                for _ in 0...Int(random.next() % 3) {
                    line[Int(random.next() % UInt64(line.count))] = UInt8(truncatingIfNeeded: random.next())
                }
            }
            let decoded = try? WatchEvent(line: line)
            let (_, action) = machine.received(line: line)
            let blank = line.allSatisfy { [0x20, 0x0A, 0x0D, 0x09].contains($0) }
            if decoded == nil && !blank {
                guard case .watch(_, _, _, let delay)? = action else {
                    Issue.record("an undecodable line should fail the watch: \(line), got \(String(describing: action))")
                    continue
                }
                #expect(delay > .zero)
            }
            if case .list? = action { _ = machine.listed(items: [], resourceVersion: "10") }
        }
    }

    @Test("JSON nested far too deep is an error, not a stack overflow")
    func deepNesting() {
        let line = #"{"type":"ADDED","object":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        #expect(throws: ListWatchDecodingError.self) { try WatchEvent(line: bytes(line)) }
    }
}

@Suite("ListResponse decoding")
struct ListResponseDecodingTests {
    @Test("a list page gives its items, resourceVersion and continue token")
    func decodesPage() throws {
        let body = #"{"kind":"ThingList","apiVersion":"v1","metadata":{"resourceVersion":"42","continue":"abc"},"items":[{"metadata":{"name":"a","resourceVersion":"40"}},{"metadata":{"name":"b","namespace":"n"}}]}"#
        let list = try ListResponse(body: Data(body.utf8))
        #expect(list.resourceVersion == "42")
        #expect(list.continueToken == "abc")
        #expect(list.items.map { ListWatch.Key(of: $0) } == [ListWatch.Key(name: "a"), ListWatch.Key(namespace: "n", name: "b")])
    }

    @Test("the last page has no continue token; absent or null items mean an empty list",
          arguments: [#"{"metadata":{"resourceVersion":"1","continue":""},"items":[]}"#,
                      #"{"metadata":{"resourceVersion":"1"}}"#,
                      #"{"metadata":{"resourceVersion":"1","continue":null},"items":null}"#])
    func lastPage(body: String) throws {
        let list = try ListResponse(body: bytes(body))
        #expect(list == ListResponse(items: [], resourceVersion: "1", continueToken: nil))
    }

    @Test("malformed list bodies give an error naming the field",
          arguments: [
            ("garbage", [0x00, 0xC3, 0x28], ListWatchDecodingError.Code.notJSON, ""),
            ("truncated", Array(#"{"metadata":{"resourceVersion":"1"},"items":[{"#.utf8), .notJSON, ""),
            ("an array", Array("[1]".utf8), .wrongType, ""),
            ("no metadata", Array(#"{"items":[]}"#.utf8), .missingField, "metadata"),
            ("metadata string", Array(#"{"metadata":"x","items":[]}"#.utf8), .wrongType, "metadata"),
            ("no resourceVersion", Array(#"{"metadata":{},"items":[]}"#.utf8), .missingField, "metadata.resourceVersion"),
            ("numeric resourceVersion", Array(#"{"metadata":{"resourceVersion":1},"items":[]}"#.utf8), .wrongType, "metadata.resourceVersion"),
            ("numeric continue", Array(#"{"metadata":{"resourceVersion":"1","continue":2},"items":[]}"#.utf8), .wrongType, "metadata.continue"),
            ("items object", Array(#"{"metadata":{"resourceVersion":"1"},"items":{}}"#.utf8), .wrongType, "items"),
            ("item string", Array(#"{"metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":"a"}},"b"]}"#.utf8), .wrongType, "items[1]"),
            ("item without name", Array(#"{"metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":"a"}},{"metadata":{}}]}"#.utf8), .missingField, "items[1].metadata.name"),
            ("item without metadata", Array(#"{"metadata":{"resourceVersion":"1"},"items":[{}]}"#.utf8), .missingField, "items[0].metadata"),
            ("item numeric namespace", Array(#"{"metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":"a","namespace":3}}]}"#.utf8), .wrongType, "items[0].metadata.namespace"),
          ] as [(String, [UInt8], ListWatchDecodingError.Code, String)])
    func malformedBodies(label: String, body: [UInt8], code: ListWatchDecodingError.Code, field: String) {
        do {
            let list = try ListResponse(body: body)
            Issue.record("\(label): decoded as \(list)")
        } catch {
            #expect(error.code == code, "\(label): \(error)")
            #expect(error.field == field, "\(label): \(error)")
            #expect(error.description.hasPrefix("list response: "), "\(label): \(error)")
        }
    }

    @Test("every truncation of a valid body is an error, not a crash")
    func truncations() {
        let body = bytes(#"{"metadata":{"resourceVersion":"42"},"items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b","namespace":"n"}}]}"#)
        #expect((try? ListResponse(body: body)) != nil)
        for length in 0..<body.count {
            #expect(throws: ListWatchDecodingError.self, "prefix of \(length) bytes") { try ListResponse(body: body.prefix(length)) }
        }
    }
}
