import Synchronization

/// Which changes a watcher wants: one resource, one namespace or all.
struct WatchFilter: Hashable, Sendable {
    var resource: String
    var namespace: String?

    func matches(_ key: ObjectKey) -> Bool {
        key.resource == resource && (namespace == nil || namespace == key.namespace)
    }
}

/// Why a watch ended, as far as the store knows; the first reason recorded wins.
final class WatchControl: Sendable {
    private let reason = Mutex<WatchEndReason?>(nil)

    var endReason: WatchEndReason? { reason.withLock { $0 } }

    func end(_ newReason: WatchEndReason) {
        reason.withLock { current in
            if current == nil { current = newReason }
        }
    }
}

/// Hands committed events to live watchers. Writers call `publish` in commit
/// order (they hold GRDB's single writer while they do), and `subscribe`
/// reads `lastPublished` under the same lock, so every event after a new
/// watcher's `liveFrom` reaches its buffer and none at or before it does:
/// that is the replay/live boundary.
///
/// `yield` on a bounded `AsyncStream` never blocks, so a slow consumer can't
/// hold up a writer; when its buffer is full the watcher is dropped and its
/// stream finished. Continuations are finished outside the lock because
/// `finish()` runs `onTermination`, which calls back into `unsubscribe`.
final class WatchHub: Sendable {
    private struct Subscriber {
        var filter: WatchFilter
        var continuation: AsyncStream<WatchEvent>.Continuation
        var control: WatchControl
    }

    private struct State {
        var lastPublished: Int64
        var nextID = 0
        var subscribers: [Int: Subscriber] = [:]
    }

    private let state: Mutex<State>

    init(lastPublished: Int64) {
        state = Mutex(State(lastPublished: lastPublished))
    }

    /// The version of the newest event published (hence committed).
    var lastPublished: Int64 { state.withLock { $0.lastPublished } }

    var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Starts feeding events newer than the returned `liveFrom` to `continuation`.
    func subscribe(
        _ filter: WatchFilter, continuation: AsyncStream<WatchEvent>.Continuation, control: WatchControl
    ) -> (id: Int, liveFrom: Int64) {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = Subscriber(filter: filter, continuation: continuation, control: control)
            return (id, state.lastPublished)
        }
    }

    func unsubscribe(_ id: Int) {
        _ = state.withLock { $0.subscribers.removeValue(forKey: id) }
    }

    /// Delivers a just-committed event to every matching watcher.
    func publish(_ event: WatchEvent) {
        let overflowed = state.withLock { state -> [AsyncStream<WatchEvent>.Continuation] in
            state.lastPublished = event.resourceVersion
            var dropped: [AsyncStream<WatchEvent>.Continuation] = []
            for (id, subscriber) in state.subscribers where subscriber.filter.matches(event.object.key) {
                switch subscriber.continuation.yield(event) {
                case .enqueued:
                    continue
                case .dropped:
                    subscriber.control.end(.overflow)
                    state.subscribers[id] = nil
                    dropped.append(subscriber.continuation)
                case .terminated:
                    state.subscribers[id] = nil
                @unknown default:
                    subscriber.control.end(.overflow)
                    state.subscribers[id] = nil
                    dropped.append(subscriber.continuation)
                }
            }
            return dropped
        }
        for continuation in overflowed { continuation.finish() }
    }
}
