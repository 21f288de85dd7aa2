import GRDB

/// The store's SQLite schema as a sequence of migrations; add a new
/// `registerMigration` for every later schema version, never edit an old one.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // One row: the last resourceVersion handed out. Kept apart from the
            // objects and events so that compaction and deletions never lower it.
            try db.execute(sql: """
                CREATE TABLE store_state (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    current_rv INTEGER NOT NULL
                );
                INSERT INTO store_state (id, current_rv) VALUES (1, 0);

                CREATE TABLE objects (
                    resource TEXT NOT NULL,
                    namespace TEXT NOT NULL,
                    name TEXT NOT NULL,
                    rv INTEGER NOT NULL,
                    json TEXT NOT NULL,
                    PRIMARY KEY (resource, namespace, name)
                ) WITHOUT ROWID;

                -- Every version ever handed out has exactly one row here until
                -- compaction removes the oldest, so the retained rows always
                -- form one contiguous range of versions. prev_* is the object
                -- before the change (NULL for ADDED): continued lists rebuild
                -- their snapshot from it.
                CREATE TABLE events (
                    rv INTEGER PRIMARY KEY,
                    type TEXT NOT NULL,
                    resource TEXT NOT NULL,
                    namespace TEXT NOT NULL,
                    name TEXT NOT NULL,
                    json TEXT NOT NULL,
                    prev_rv INTEGER,
                    prev_json TEXT
                );
                CREATE INDEX events_by_key ON events (resource, namespace, name, rv);
                """)
        }
        return migrator
    }
}
