import GRDB
import JSONValue

extension ObjectStore {
    /// The object under `key`, or nil.
    public func get(_ key: ObjectKey) throws(StoreError) -> StoredObject? {
        do {
            return try pool.read { db in try Self.fetchRow(db, key) }
        } catch {
            throw StoreError.wrapping(error, context: "get \(key)")
        }
    }

    /// Objects of `resource` in (namespace, name) order; `namespace` nil lists
    /// every namespace. With a `limit` > 0 at most that many items come back,
    /// plus a continue token when there are more.
    ///
    /// A continued page shows the objects as they were at the first page's
    /// version (rebuilt from the watch history), so the pages together form
    /// one consistent snapshot, as with etcd. Once the history is compacted
    /// past that version the continuation fails with `.expired`.
    public func list(
        resource: String, namespace: String?, limit: Int? = nil, continueToken: String? = nil
    ) throws(StoreError) -> ListPage {
        let token: ContinueToken? = try continueToken.map { (text) throws(StoreError) in try ContinueToken(parsing: text) }
        let pageSize = limit.flatMap { $0 > 0 ? $0 : nil }
        do {
            return try pool.read { db in
                let current = try Self.currentVersion(db)
                let snapshot = token?.v ?? current
                guard snapshot <= current else { throw StoreError.badContinueToken }
                let after = token.map { (namespace: $0.ns, name: $0.n) }
                var items: [StoredObject]
                if snapshot == current {
                    items = try Self.fetchCurrent(
                        db, resource: resource, namespace: namespace, after: after, upTo: nil, limit: pageSize)
                } else {
                    let oldest = try Self.oldestRetainedVersion(db, current: current)
                    guard snapshot >= oldest - 1 else { throw StoreError.expired(oldest: oldest) }
                    items = try Self.fetchSnapshot(
                        db, resource: resource, namespace: namespace, after: after, version: snapshot, limit: pageSize)
                }
                var next: String?
                if let pageSize, items.count > pageSize {
                    items.removeLast(items.count - pageSize)
                    if let last = items.last {
                        next = try ContinueToken(v: snapshot, ns: last.key.namespace, n: last.key.name).encoded()
                    }
                }
                return ListPage(items: items, resourceVersion: snapshot, continueToken: next)
            }
        } catch {
            throw StoreError.wrapping(error, context: "list \(resource)")
        }
    }

    /// Up to `limit + 1` current rows after `after`, optionally only those
    /// last changed at or before `upTo`.
    private static func fetchCurrent(
        _ db: Database, resource: String, namespace: String?, after: (namespace: String, name: String)?,
        upTo: Int64?, limit: Int?
    ) throws -> [StoredObject] {
        var sql = "SELECT namespace, name, rv, json FROM objects WHERE resource = ?"
        var arguments: StatementArguments = [resource]
        if let namespace {
            sql += " AND namespace = ?"
            arguments += [namespace]
        }
        if let after {
            sql += " AND (namespace, name) > (?, ?)"
            arguments += [after.namespace, after.name]
        }
        if let upTo {
            sql += " AND rv <= ?"
            arguments += [upTo]
        }
        sql += " ORDER BY namespace, name"
        if let limit {
            sql += " LIMIT ?"
            arguments += [limit + 1]
        }
        return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
            let key = ObjectKey(resource: resource, namespace: row["namespace"], name: row["name"])
            return StoredObject(key: key, resourceVersion: row["rv"], object: try StoredJSON.decode(row["json"], key: key))
        }
    }

    /// Up to `limit + 1` objects after `after` as they were at `version`; the
    /// caller has checked that every event after `version` is retained.
    ///
    /// An object unchanged since `version` is its current row. An object
    /// changed (or deleted) since has as its state at `version` the "previous"
    /// side of its first event after `version`; no previous side (ADDED) means
    /// it did not exist then. The two sets are disjoint: any change after
    /// `version` moves the current row past `version` or removes it.
    private static func fetchSnapshot(
        _ db: Database, resource: String, namespace: String?, after: (namespace: String, name: String)?,
        version: Int64, limit: Int?
    ) throws -> [StoredObject] {
        let unchanged = try fetchCurrent(
            db, resource: resource, namespace: namespace, after: after, upTo: version, limit: limit)

        var sql = """
            SELECT e.namespace, e.name, e.prev_rv, e.prev_json FROM events e
            WHERE e.rv > ? AND e.resource = ?
              AND e.rv = (SELECT MIN(x.rv) FROM events x
                          WHERE x.resource = e.resource AND x.namespace = e.namespace
                            AND x.name = e.name AND x.rv > ?)
              AND e.prev_json IS NOT NULL
            """
        var arguments: StatementArguments = [version, resource, version]
        if let namespace {
            sql += " AND e.namespace = ?"
            arguments += [namespace]
        }
        if let after {
            sql += " AND (e.namespace, e.name) > (?, ?)"
            arguments += [after.namespace, after.name]
        }
        sql += " ORDER BY e.namespace, e.name"
        if let limit {
            sql += " LIMIT ?"
            arguments += [limit + 1]
        }
        let rebuilt = try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
            let key = ObjectKey(resource: resource, namespace: row["namespace"], name: row["name"])
            return StoredObject(
                key: key, resourceVersion: row["prev_rv"], object: try StoredJSON.decode(row["prev_json"], key: key))
        }

        var merged: [StoredObject] = []
        merged.reserveCapacity(unchanged.count + rebuilt.count)
        var left = unchanged[...], right = rebuilt[...]
        while let l = left.first, let r = right.first {
            if precedes(l.key, r.key) {
                merged.append(l)
                left = left.dropFirst()
            } else {
                merged.append(r)
                right = right.dropFirst()
            }
        }
        merged.append(contentsOf: left)
        merged.append(contentsOf: right)
        if let limit, merged.count > limit + 1 { merged.removeLast(merged.count - limit - 1) }
        return merged
    }

    /// (namespace, name) order as SQLite's BINARY collation sees it: UTF-8 bytes.
    private static func precedes(_ a: ObjectKey, _ b: ObjectKey) -> Bool {
        if a.namespace != b.namespace { return a.namespace.utf8.lexicographicallyPrecedes(b.namespace.utf8) }
        return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
    }
}
