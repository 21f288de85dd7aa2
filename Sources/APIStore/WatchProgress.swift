/// Where a watcher stands, as a plain value: replaying history after some
/// version up to the live boundary, then live, then finished. The iterator
/// asks it what to do next and reports back what happened.
struct WatchProgress: Hashable, Sendable {
    enum Phase: Hashable, Sendable {
        /// Every matching event up to `after` has been handed out.
        case replaying(after: Int64)
        case live
        case finished
    }

    /// What the iterator should do next.
    enum Action: Hashable, Sendable {
        case readPage(after: Int64, through: Int64)
        case awaitLive
        case finish
    }

    private(set) var phase: Phase
    /// The last version the hub had published when the watcher subscribed:
    /// history covers up to here, the live buffer everything after.
    let liveFrom: Int64
    /// Live events at or before this are skipped (a start version in the future).
    let skipThrough: Int64

    /// `from` nil or 0 means "from now".
    init(from: Int64?, liveFrom: Int64) {
        self.liveFrom = liveFrom
        let start = from ?? 0
        if start > 0 && start < liveFrom {
            phase = .replaying(after: start)
        } else {
            phase = .live
        }
        skipThrough = max(start, liveFrom)
    }

    func nextAction() -> Action {
        switch phase {
        case .replaying(let after): return .readPage(after: after, through: liveFrom)
        case .live: return .awaitLive
        case .finished: return .finish
        }
    }

    /// A replay page was read; `full` means more may follow after `lastVersion`.
    mutating func pageRead(lastVersion: Int64?, full: Bool) {
        guard case .replaying = phase else { return }
        if full, let lastVersion, lastVersion < liveFrom {
            phase = .replaying(after: lastVersion)
        } else {
            phase = .live
        }
    }

    /// Whether a live event should be handed out.
    func acceptsLive(_ version: Int64) -> Bool {
        phase == .live && version > skipThrough
    }

    mutating func finish() {
        phase = .finished
    }
}
