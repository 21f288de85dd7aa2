import GRDB

extension ObjectStore {
    /// Watches `resource` (in `namespace`, or all when nil).
    ///
    /// With `fromResourceVersion` nil or 0 only changes committed from now on
    /// are delivered. Otherwise first every retained change after that
    /// version, then live ones; throws `.expired(oldest:)` when the history no
    /// longer reaches back to it (it must be at least `oldest - 1`).
    public func watch(
        resource: String, namespace: String?, fromResourceVersion: Int64?
    ) throws(StoreError) -> Watcher {
        let filter = WatchFilter(resource: resource, namespace: namespace)
        let control = WatchControl()
        let (stream, continuation) = AsyncStream.makeStream(
            of: WatchEvent.self, bufferingPolicy: .bufferingOldest(watchBufferLimit))
        let (id, liveFrom) = hub.subscribe(filter, continuation: continuation, control: control)
        continuation.onTermination = { [weak hub] _ in
            control.end(.cancelled)
            hub?.unsubscribe(id)
        }
        let progress = WatchProgress(from: fromResourceVersion, liveFrom: liveFrom)
        if case .replaying(let after) = progress.phase {
            // Checked here so that the caller gets a 410 rather than a stream
            // that ends at once; the replay checks again on every page.
            let oldest: Int64
            do {
                oldest = try pool.read { db in
                    try Self.oldestRetainedVersion(db, current: try Self.currentVersion(db))
                }
            } catch {
                continuation.finish()
                throw StoreError.wrapping(error, context: "watch \(resource)")
            }
            if after < oldest - 1 {
                continuation.finish()
                throw StoreError.expired(oldest: oldest)
            }
        }
        return Watcher(
            pool: pool, filter: filter, start: progress, live: stream, continuation: continuation, control: control)
    }
}
