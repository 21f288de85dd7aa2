import GRDB
import JSONValue

/// Why a watcher's sequence ended.
public enum WatchEndReason: Hashable, Sendable {
    /// `cancel()` was called or the consuming task was cancelled.
    case cancelled
    /// The consumer fell more than `watchBufferLimit` events behind; re-watch
    /// from the last resourceVersion received.
    case overflow
    /// The history was compacted past the watcher's position during replay;
    /// the client must relist (HTTP 410).
    case expired(oldest: Int64)
    /// Reading the history failed.
    case failed(StoreError)
}

/// A watch on one resource (one namespace or all): the retained events after
/// the start version, then live events, in resourceVersion order with no gaps
/// or duplicates. Iterate it once. The sequence ends on `cancel()`, when the
/// consumer falls too far behind, or when the history it still had to replay
/// is compacted; `endReason` tells which.
public final class Watcher: AsyncSequence, Sendable {
    public typealias Element = WatchEvent
    public typealias Failure = Never

    /// Events read from SQLite per replay step.
    static let replayPageSize = 256

    let pool: DatabasePool
    let filter: WatchFilter
    let start: WatchProgress
    let live: AsyncStream<WatchEvent>
    let continuation: AsyncStream<WatchEvent>.Continuation
    let control: WatchControl

    init(
        pool: DatabasePool, filter: WatchFilter, start: WatchProgress, live: AsyncStream<WatchEvent>,
        continuation: AsyncStream<WatchEvent>.Continuation, control: WatchControl
    ) {
        self.pool = pool
        self.filter = filter
        self.start = start
        self.live = live
        self.continuation = continuation
        self.control = control
    }

    /// Nil while the watch runs; afterwards why it ended.
    public var endReason: WatchEndReason? { control.endReason }

    /// Stops the watch: the sequence ends after what it has already buffered
    /// and the store stops feeding it.
    public func cancel() {
        control.end(.cancelled)
        continuation.finish()
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(watcher: self, progress: start, liveEvents: live.makeAsyncIterator())
    }

    /// Replays history page by page from SQLite, then drains the live buffer.
    public struct Iterator: AsyncIteratorProtocol {
        let watcher: Watcher
        var progress: WatchProgress
        var liveEvents: AsyncStream<WatchEvent>.Iterator
        var page: [WatchEvent] = []
        var pageIndex = 0

        init(watcher: Watcher, progress: WatchProgress, liveEvents: AsyncStream<WatchEvent>.Iterator) {
            self.watcher = watcher
            self.progress = progress
            self.liveEvents = liveEvents
        }

        public mutating func next() async -> WatchEvent? {
            while true {
                if pageIndex < page.count {
                    defer { pageIndex += 1 }
                    return page[pageIndex]
                }
                switch progress.nextAction() {
                case .finish:
                    return nil
                case .readPage(let after, let through):
                    if Task.isCancelled || watcher.control.endReason != nil {
                        watcher.cancel()
                        progress.finish()
                        return nil
                    }
                    let result: ReplayPage
                    do {
                        result = try await watcher.readPage(after: after, through: through)
                    } catch {
                        watcher.control.end(.failed(StoreError.wrapping(error, context: "replay watch history")))
                        watcher.continuation.finish()
                        progress.finish()
                        return nil
                    }
                    if let oldest = result.expiredOldest {
                        watcher.control.end(.expired(oldest: oldest))
                        watcher.continuation.finish()
                        progress.finish()
                        return nil
                    }
                    page = result.events
                    pageIndex = 0
                    progress.pageRead(lastVersion: result.events.last?.resourceVersion, full: result.full)
                case .awaitLive:
                    guard let event = await liveEvents.next() else {
                        watcher.control.end(.cancelled)
                        progress.finish()
                        return nil
                    }
                    if progress.acceptsLive(event.resourceVersion) { return event }
                }
            }
        }
    }

    struct ReplayPage: Sendable {
        var events: [WatchEvent]
        var full: Bool
        /// Set when events after `after` have been compacted away.
        var expiredOldest: Int64?
    }

    /// Matching events in `(after, through]`, at most one page, in one read
    /// transaction that also checks none of them has been compacted. The
    /// retained events form one contiguous range of versions, so the check is
    /// that the oldest retained is at most `after + 1`.
    ///
    /// A synchronous read, like every other read of the store: GRDB's async
    /// read keeps its reader while the task waits for a thread to resume on,
    /// and with synchronous reads blocking the (two-thread) cooperative pool
    /// meanwhile, a few watches starting at once used up the readers and
    /// deadlocked the server. A synchronous read holds a reader only while
    /// its thread runs the query.
    func readPage(after: Int64, through: Int64) async throws -> ReplayPage {
        try readPageBlocking(after: after, through: through)
    }

    /// Not async, so that `pool.read` is GRDB's synchronous read.
    private func readPageBlocking(after: Int64, through: Int64) throws -> ReplayPage {
        let filter = self.filter
        let limit = Self.replayPageSize
        return try pool.read { db in
            let current = try ObjectStore.currentVersion(db)
            let oldest = try ObjectStore.oldestRetainedVersion(db, current: current)
            if oldest > after + 1 {
                return ReplayPage(events: [], full: false, expiredOldest: oldest)
            }
            var sql = """
                SELECT rv, type, namespace, name, json FROM events
                WHERE rv > ? AND rv <= ? AND resource = ?
                """
            var arguments: StatementArguments = [after, through, filter.resource]
            if let namespace = filter.namespace {
                sql += " AND namespace = ?"
                arguments += [namespace]
            }
            sql += " ORDER BY rv LIMIT ?"
            arguments += [limit]
            let events = try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let key = ObjectKey(resource: filter.resource, namespace: row["namespace"], name: row["name"])
                let typeName: String = row["type"]
                guard let type = WatchEvent.EventType(rawValue: typeName) else {
                    throw StoreError.storage("event \(row["rv"] as Int64) for \(key) has unknown type \(typeName)")
                }
                let object = StoredObject(
                    key: key, resourceVersion: row["rv"], object: try StoredJSON.decode(row["json"], key: key))
                return WatchEvent(type: type, object: object)
            }
            return ReplayPage(events: events, full: events.count == limit, expiredOldest: nil)
        }
    }
}
