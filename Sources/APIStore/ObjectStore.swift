import Foundation
import GRDB
import JSONValue

/// The API server's durable object store: JSON objects keyed by
/// resource/namespace/name in SQLite, a global resourceVersion, optimistic
/// concurrency, paginated lists, and watches backed by a bounded event history.
///
/// Every write is one SQLite transaction in WAL mode with `synchronous = FULL`,
/// committed before the call returns. Safe to call from any number of tasks:
/// writes are serialized by GRDB's writer, reads run concurrently on snapshots.
/// The calls block the calling thread for the duration of the SQLite work.
public final class ObjectStore: Sendable {
    /// How many of the newest events the history keeps for watches and continued lists.
    public let historyLimit: Int
    /// How many undelivered events a watcher may hold before its stream is ended.
    public let watchBufferLimit: Int

    let pool: DatabasePool
    let hub: WatchHub

    /// Opens (creating if needed) the store in the SQLite file at `path` and
    /// brings its schema up to date.
    public init(path: String, historyLimit: Int = 10_000, watchBufferLimit: Int = 1_000) throws(StoreError) {
        self.historyLimit = max(1, historyLimit)
        self.watchBufferLimit = max(1, watchBufferLimit)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // DatabasePool switches its writer to `synchronous = NORMAL` after
            // `prepareDatabase` runs; NORMAL in WAL mode may lose the last
            // commits on power loss, so FULL is set on the one writer connection here.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            try Schema.migrator.migrate(pool)
            let current = try pool.read { db in try Self.currentVersion(db) }
            hub = WatchHub(lastPublished: current)
        } catch {
            throw StoreError.wrapping(error, context: "open \(path)")
        }
    }

    /// The newest committed resourceVersion (what a bookmark carries).
    public var currentResourceVersion: Int64 { hub.lastPublished }

    /// The `PRAGMA synchronous` level of the writer connection (2 = FULL).
    func writerSynchronousLevel() throws -> Int {
        try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    static func currentVersion(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT current_rv FROM store_state WHERE id = 1") ?? 0
    }

    /// The oldest version the history holds, or `current + 1` when it holds none.
    static func oldestRetainedVersion(_ db: Database, current: Int64) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT MIN(rv) FROM events") ?? (current + 1)
    }
}

extension StoreError {
    /// A `StoreError` passes through; anything else (SQLite, JSON) becomes
    /// `.storage` naming the operation.
    static func wrapping(_ error: any Error, context: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? DatabaseError {
            return .storage("\(context): SQLite error \(error.extendedResultCode.rawValue): \(error.message ?? "no message")")
        }
        return .storage("\(context): \(error)")
    }
}
