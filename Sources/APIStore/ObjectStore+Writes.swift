import GRDB
import JSONValue

extension ObjectStore {
    /// Stores a new object under `key` with a new resourceVersion.
    /// Throws `.alreadyExists` if the key holds an object.
    @discardableResult
    public func create(_ key: ObjectKey, object: JSONValue) throws(StoreError) -> StoredObject {
        do {
            return try commitChange("create \(key)") { db, version in
                if try Self.fetchRow(db, key) != nil { throw StoreError.alreadyExists }
                let stored = StoredObject(
                    key: key, resourceVersion: version,
                    object: try StoredJSON.stamping(object, version: version, key: key))
                try Self.upsert(db, stored)
                return .write(WatchEvent(type: .added, object: stored), previous: nil)
            }
        } catch {
            throw StoreError.wrapping(error, context: "create \(key)")
        }
    }

    /// Replaces the object under `key` with `transform(current)`.
    ///
    /// Throws `.notFound` if absent and `.conflict(current:)` if
    /// `expectedResourceVersion` is given and is not the stored version. If the
    /// result equals the current object (ignoring `metadata.resourceVersion`)
    /// nothing is written and the current object is returned. The transform runs
    /// inside the write transaction, so it must be quick; an error it throws
    /// aborts the update and is rethrown unchanged. Other failures are `StoreError`.
    @discardableResult
    public func update(
        _ key: ObjectKey, expectedResourceVersion: Int64?,
        _ transform: (JSONValue) throws -> JSONValue
    ) throws -> StoredObject {
        do {
            return try commitChange("update \(key)") { db, version in
                guard let current = try Self.fetchRow(db, key) else { throw StoreError.notFound }
                if let expected = expectedResourceVersion, expected != current.resourceVersion {
                    throw StoreError.conflict(current: current.resourceVersion)
                }
                let proposed = try transform(current.object)
                let unchanged = try StoredJSON.encode(
                    StoredJSON.stamping(current.object, version: nil, key: key), key: key)
                let candidate = try StoredJSON.encode(
                    StoredJSON.stamping(proposed, version: nil, key: key), key: key)
                if unchanged == candidate { return .noChange(current) }
                let stored = StoredObject(
                    key: key, resourceVersion: version,
                    object: try StoredJSON.stamping(proposed, version: version, key: key))
                try Self.upsert(db, stored)
                return .write(WatchEvent(type: .modified, object: stored), previous: current)
            }
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            throw StoreError.wrapping(error, context: "update \(key)")
        }
    }

    /// Deletes the object under `key`; returns its last state stamped with the
    /// deletion's new resourceVersion (what the DELETED watch event carries).
    @discardableResult
    public func delete(_ key: ObjectKey, expectedResourceVersion: Int64?) throws(StoreError) -> StoredObject {
        do {
            return try commitChange("delete \(key)") { db, version in
                guard let current = try Self.fetchRow(db, key) else { throw StoreError.notFound }
                if let expected = expectedResourceVersion, expected != current.resourceVersion {
                    throw StoreError.conflict(current: current.resourceVersion)
                }
                try db.execute(
                    sql: "DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?",
                    arguments: [key.resource, key.namespace, key.name])
                let tombstone = StoredObject(
                    key: key, resourceVersion: version,
                    object: try StoredJSON.stamping(current.object, version: version, key: key))
                return .write(WatchEvent(type: .deleted, object: tombstone), previous: current)
            }
        } catch {
            throw StoreError.wrapping(error, context: "delete \(key)")
        }
    }

    /// Drops all but the newest `keepingLast` events from the watch history.
    /// Watches and continue tokens older than what remains then get `.expired`.
    public func compact(keepingLast: Int) throws(StoreError) {
        do {
            try pool.write { db in
                let current = try Self.currentVersion(db)
                try db.execute(
                    sql: "DELETE FROM events WHERE rv <= ?",
                    arguments: [current - Int64(max(0, keepingLast))])
            }
        } catch {
            throw StoreError.wrapping(error, context: "compact history")
        }
    }

    /// What a write decided inside its transaction.
    enum WriteDecision {
        /// Nothing to write; return this object.
        case noChange(StoredObject)
        /// The object row is written; record `event` and publish it after commit.
        case write(WatchEvent, previous: StoredObject?)
    }

    /// Runs `body` in an IMMEDIATE transaction with the next resourceVersion;
    /// for a `.write` decision it bumps the persisted counter, records the
    /// event, trims the history, commits, and then publishes the event to
    /// watchers. Publishing happens while this writer still holds GRDB's
    /// serialized writer, so watchers see events in commit order, and only
    /// after the commit, so they never see one that is rolled back.
    private func commitChange(
        _ context: String, _ body: (Database, Int64) throws -> WriteDecision
    ) throws -> StoredObject {
        try pool.writeWithoutTransaction { db in
            var decision: WriteDecision?
            try db.inTransaction(.immediate) {
                let version = try Self.currentVersion(db) + 1
                let made = try body(db, version)
                decision = made
                guard case .write(let event, let previous) = made else { return .commit }
                try db.execute(sql: "UPDATE store_state SET current_rv = ? WHERE id = 1", arguments: [version])
                try Self.record(db, event, previous: previous)
                if version > Int64(historyLimit) {
                    try db.execute(sql: "DELETE FROM events WHERE rv <= ?", arguments: [version - Int64(historyLimit)])
                }
                return .commit
            }
            switch decision {
            case .noChange(let current)?:
                return current
            case .write(let event, _)?:
                hub.publish(event)
                return event.object
            case nil:
                throw StoreError.storage("\(context): the transaction ended without running")
            }
        }
    }

    static func upsert(_ db: Database, _ stored: StoredObject) throws {
        try db.execute(
            sql: """
                INSERT INTO objects (resource, namespace, name, rv, json) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (resource, namespace, name) DO UPDATE SET rv = excluded.rv, json = excluded.json
                """,
            arguments: [
                stored.key.resource, stored.key.namespace, stored.key.name, stored.resourceVersion,
                try StoredJSON.encode(stored.object, key: stored.key),
            ])
    }

    static func record(_ db: Database, _ event: WatchEvent, previous: StoredObject?) throws {
        let key = event.object.key
        try db.execute(
            sql: """
                INSERT INTO events (rv, type, resource, namespace, name, json, prev_rv, prev_json)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                event.resourceVersion, event.type.rawValue, key.resource, key.namespace, key.name,
                try StoredJSON.encode(event.object.object, key: key),
                previous?.resourceVersion,
                try previous.map { (previous) throws(StoreError) in try StoredJSON.encode(previous.object, key: key) },
            ])
    }

    static func fetchRow(_ db: Database, _ key: ObjectKey) throws -> StoredObject? {
        guard let row = try Row.fetchOne(
            db, sql: "SELECT rv, json FROM objects WHERE resource = ? AND namespace = ? AND name = ?",
            arguments: [key.resource, key.namespace, key.name])
        else { return nil }
        return StoredObject(
            key: key, resourceVersion: row["rv"], object: try StoredJSON.decode(row["json"], key: key))
    }
}
