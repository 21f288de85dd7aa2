import JSONValue

/// The list+watch loop for one collection as a plain value, with the rules
/// client-go's reflector follows: list, watch from the list's
/// resourceVersion, resume after a clean end, relist when the version has
/// expired (410), back off after failures. It performs no I/O: each input
/// returns the `Action` a driver performs next (after the action's delay),
/// and the driver feeds the outcome back in.
///
/// The driver's loop: `start()`; on `.list`, fetch every page and call
/// `listed(items:resourceVersion:)` or `listFailed(_:)`; on `.watch`, open
/// the stream and pass each line to `received(line:)` until one returns an
/// action (then drop the stream and perform it), and when the stream ends
/// call `watchEnded(after:)` or `watchFailed(_:)`.
public struct ListWatch: Sendable {
    /// Timing knobs; the defaults are client-go's.
    public struct Configuration: Hashable, Sendable {
        /// `timeoutSeconds` of each watch is drawn from this range, so that
        /// many agents do not reconnect in step.
        public var watchTimeoutSeconds: ClosedRange<Int>
        /// The delay after the first failure; it doubles with each
        /// consecutive failure up to `maximumBackoff`.
        public var initialBackoff: Duration
        public var maximumBackoff: Duration
        /// Each delay is scaled by a factor drawn uniformly from
        /// `1 - backoffJitter ..< 1 + backoffJitter` (±20 % by default), so the
        /// cap can be exceeded by that fraction. 0 turns jitter off.
        public var backoffJitter: Double
        /// A watch that ends cleanly sooner than this without delivering
        /// anything counts as a failure (client-go's "very short watch"), so a
        /// server that closes streams at once is not hammered.
        public var minimumWatchDuration: Duration
        /// Ask for BOOKMARK events, which keep the resume version fresh.
        public var allowBookmarks: Bool

        public init(watchTimeoutSeconds: ClosedRange<Int> = 300...600,
                    initialBackoff: Duration = .milliseconds(800),
                    maximumBackoff: Duration = .seconds(30),
                    backoffJitter: Double = 0.2,
                    minimumWatchDuration: Duration = .seconds(1),
                    allowBookmarks: Bool = true) {
            precondition(watchTimeoutSeconds.lowerBound >= 1, "watch timeouts must be at least 1 s")
            self.watchTimeoutSeconds = watchTimeoutSeconds
            self.initialBackoff = initialBackoff
            self.maximumBackoff = maximumBackoff
            self.backoffJitter = backoffJitter
            self.minimumWatchDuration = minimumWatchDuration
            self.allowBookmarks = allowBookmarks
        }
    }

    /// What the driver does next, once `after` has passed.
    public enum Action: Hashable, Sendable, CustomStringConvertible {
        /// List the whole collection (every page) without a resourceVersion.
        case list(after: Duration)
        /// Watch from `resourceVersion` with `timeoutSeconds` and
        /// `allowWatchBookmarks`.
        case watch(from: String, timeoutSeconds: Int, allowBookmarks: Bool, after: Duration)

        public var delay: Duration {
            switch self {
            case .list(let delay), .watch(_, _, _, let delay): delay
            }
        }

        public var description: String {
            switch self {
            case .list(let delay): "list after \(delay)"
            case .watch(let version, let timeout, _, let delay):
                "watch from resourceVersion \"\(version)\" for \(timeout) s after \(delay)"
            }
        }
    }

    /// A change to the cache, for the consumer to act on.
    public enum Change: Hashable, Sendable {
        case added(JSONValue)
        /// The object's new state (its resourceVersion differs from the cached one).
        case modified(JSONValue)
        /// The last known state: the DELETED event's object, or for an object
        /// missing from a relist, the cached one.
        case deleted(JSONValue)
        /// The first list has been applied: the cache is complete. Sent once.
        case synced

        /// The object the change is about; nil for `.synced`.
        public var object: JSONValue? {
            switch self {
            case .added(let object), .modified(let object), .deleted(let object): object
            case .synced: nil
            }
        }
    }

    /// Where an object lives in the cache: namespace (`""` when cluster-scoped) and name.
    public struct Key: Hashable, Comparable, Sendable, CustomStringConvertible {
        public var namespace: String
        public var name: String

        public init(namespace: String = "", name: String) {
            self.namespace = namespace
            self.name = name
        }

        /// The key of an object from its `metadata`; nil without a non-empty string name.
        public init?(of object: JSONValue) {
            guard let name = object["metadata"]?["name"]?.stringValue, !name.isEmpty else { return nil }
            self.init(namespace: object["metadata"]?["namespace"]?.stringValue ?? "", name: name)
        }

        public static func < (lhs: Key, rhs: Key) -> Bool { (lhs.namespace, lhs.name) < (rhs.namespace, rhs.name) }

        public var description: String { namespace.isEmpty ? name : "\(namespace)/\(name)" }
    }

    /// Why a list or watch request failed, as the driver saw it.
    public enum Failure: Hashable, Sendable, CustomStringConvertible {
        /// No usable answer: connection refused, DNS, TLS, a timeout, the
        /// stream falling silent or breaking off.
        case transport(String)
        /// The server refused: an HTTP error status, or an ERROR event's
        /// Status. Code 410 or reason Expired or Gone means the
        /// resourceVersion is older than the server's history.
        case status(code: Int?, reason: String? = nil, message: String? = nil)
        /// A list body or a line of the watch stream could not be decoded.
        case malformed(String)
        /// The watch ended cleanly within `minimumWatchDuration` having
        /// delivered nothing.
        case shortWatch(Duration)

        /// The resourceVersion asked for has expired: only a relist helps.
        public var isExpired: Bool {
            guard case .status(let code, let reason, _) = self else { return false }
            return code == 410 || reason == "Expired" || reason == "Gone"
        }

        public var description: String {
            switch self {
            case .transport(let text): return "transport: \(text)"
            case .status(let code, let reason, let message):
                return "status " + [code.map(String.init), reason, message].compactMap { $0 }.joined(separator: " ")
            case .malformed(let text): return "malformed: \(text)"
            case .shortWatch(let elapsed): return "watch closed after \(elapsed) without any event"
            }
        }
    }

    /// Counts for tests and metrics. Actions are counted when issued.
    public struct Counters: Hashable, Sendable {
        /// `.list` actions: the first, retries after failures, and relists.
        public var lists = 0
        /// `.list` actions issued because the watch's resourceVersion expired
        /// (410); retries of such a list count in `lists` only.
        public var relists = 0
        /// `.watch` actions.
        public var watches = 0
        /// Failed lists and watches, ERROR events other than expiry, and short watches.
        public var failures = 0

        public init(lists: Int = 0, relists: Int = 0, watches: Int = 0, failures: Int = 0) {
            self.lists = lists
            self.relists = relists
            self.watches = watches
            self.failures = failures
        }
    }

    /// Which request the machine is waiting on.
    public enum Phase: Hashable, Sendable {
        /// `start()` has not been called.
        case idle
        case listing
        case watching
    }

    public let configuration: Configuration
    public private(set) var phase = Phase.idle
    /// The cache: every object of the collection as last seen.
    public private(set) var objects: [Key: JSONValue] = [:]
    /// The resourceVersion the next watch resumes from: the list's, then
    /// each event's (bookmarks included). Empty before the first list.
    public private(set) var resourceVersion = ""
    /// Whether a list has ever succeeded, i.e. the cache is complete.
    public private(set) var hasSynced = false
    public private(set) var counters = Counters()
    /// Failures since the last successful list or delivered event; the next
    /// backoff is `initialBackoff * 2^consecutiveFailures`, capped.
    public private(set) var consecutiveFailures = 0
    /// The most recent failure, for logs and status; not cleared by success.
    public private(set) var lastFailure: Failure?

    /// Whether the current watch has delivered an event or bookmark.
    private var watchDelivered = false
    /// Draws jitter and watch timeouts; injectable so tests are deterministic.
    /// An existential keeps `ListWatch` a plain, non-generic type; copies of
    /// the machine copy the generator's state with it.
    private var generator: any RandomNumberGenerator & Sendable

    public init(configuration: Configuration = Configuration(),
                generator: some RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()) {
        self.configuration = configuration
        self.generator = generator
    }

    // MARK: - Cache accessors

    /// The cached keys, by namespace then name.
    public var sortedKeys: [Key] { objects.keys.sorted() }

    /// The cached objects, by namespace then name.
    public var sortedObjects: [JSONValue] { objects.sorted { $0.key < $1.key }.map(\.value) }

    // MARK: - Inputs

    /// The first action: list.
    public mutating func start() -> Action {
        precondition(phase == .idle, "ListWatch.start() called twice")
        return issueList(after: .zero)
    }

    /// A list succeeded with every page's items: the cache becomes exactly
    /// `items`. Returns the changes against the previous cache (in list
    /// order, then deletions by key), `.synced` after the first list, and a
    /// watch from `resourceVersion`. Items without a name are skipped
    /// (`ListResponse` rejects them); a repeated key keeps the last item.
    public mutating func listed(items: [JSONValue], resourceVersion: String) -> (changes: [Change], action: Action) {
        precondition(phase == .listing, "ListWatch.listed(...) while \(phase), not listing")
        var fresh: [Key: JSONValue] = [:]
        var order: [Key] = []
        for item in items {
            guard let key = Key(of: item) else { continue }
            if fresh.updateValue(item, forKey: key) == nil { order.append(key) }
        }
        var changes: [Change] = []
        for key in order {
            // Every key in `order` was just stored in `fresh`.
            let item = fresh[key]!
            if let cached = objects[key] {
                if !Self.sameVersion(cached, item) { changes.append(.modified(item)) }
            } else {
                changes.append(.added(item))
            }
        }
        for (key, cached) in objects.sorted(by: { $0.key < $1.key }) where fresh[key] == nil {
            changes.append(.deleted(cached))
        }
        objects = fresh
        self.resourceVersion = resourceVersion
        if !hasSynced {
            hasSynced = true
            changes.append(.synced)
        }
        consecutiveFailures = 0
        return (changes, issueWatch(after: .zero))
    }

    /// `listed(items:resourceVersion:)` for a complete list (all pages concatenated).
    public mutating func listed(_ list: ListResponse) -> (changes: [Change], action: Action) {
        listed(items: list.items, resourceVersion: list.resourceVersion)
    }

    /// A list failed: list again after backoff. The cache is kept.
    public mutating func listFailed(_ failure: Failure) -> Action {
        precondition(phase == .listing, "ListWatch.listFailed(_:) while \(phase), not listing")
        recordFailure(failure)
        return issueList(after: nextBackoff())
    }

    /// One event of the current watch. Returns the change to the cache, if
    /// any, and an action when the stream must be abandoned (an ERROR
    /// event, or an event without a name): relist at once when the version
    /// expired, otherwise watch again after backoff. Events that arrive while
    /// not watching (stale lines of a stream already given up) are ignored.
    public mutating func received(_ event: WatchEvent) -> (change: Change?, action: Action?) {
        guard phase == .watching else { return (nil, nil) }
        if event.type == .error {
            let status = event.status
            return (nil, watchFailed(.status(code: status?.code, reason: status?.reason, message: status?.message)))
        }
        if event.type == .bookmark {
            delivered(event)
            return (nil, nil)
        }
        guard let key = Key(of: event.object) else {
            return (nil, watchFailed(.malformed("\(event.type.rawValue) event without metadata.name")))
        }
        delivered(event)
        switch event.type {
        case .added, .modified:
            let cached = objects.updateValue(event.object, forKey: key)
            guard let cached else { return (.added(event.object), nil) }
            return (Self.sameVersion(cached, event.object) ? nil : .modified(event.object), nil)
        case .deleted:
            return (objects.removeValue(forKey: key) == nil ? nil : .deleted(event.object), nil)
        case .bookmark, .error:
            return (nil, nil)
        }
    }

    /// One line of the current watch stream: decoded and passed to
    /// `received(_:)`. A blank line is ignored; a line that is not a valid
    /// event fails the watch (watch again after backoff).
    public mutating func received(line: some Collection<UInt8>) -> (change: Change?, action: Action?) {
        guard phase == .watching else { return (nil, nil) }
        if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) {
            return (nil, nil)
        }
        do {
            return received(try WatchEvent(line: line))
        } catch {
            return (nil, watchFailed(.malformed(error.description)))
        }
    }

    /// The server closed the watch cleanly (its `timeoutSeconds` ran out):
    /// watch again from the last resourceVersion at once, unless the stream
    /// delivered nothing in less than `minimumWatchDuration` (then it is a
    /// `.shortWatch` failure).
    public mutating func watchEnded(after elapsed: Duration) -> Action {
        precondition(phase == .watching, "ListWatch.watchEnded(after:) while \(phase), not watching")
        if !watchDelivered && elapsed < configuration.minimumWatchDuration {
            return watchFailed(.shortWatch(elapsed))
        }
        return issueWatch(after: .zero)
    }

    /// The watch request failed, before or during streaming: relist at once
    /// when the version expired (HTTP 410), otherwise watch again from the
    /// last resourceVersion after backoff.
    public mutating func watchFailed(_ failure: Failure) -> Action {
        precondition(phase == .watching, "ListWatch.watchFailed(_:) while \(phase), not watching")
        if failure.isExpired {
            counters.relists += 1
            return issueList(after: .zero)
        }
        recordFailure(failure)
        return issueWatch(after: nextBackoff())
    }

    // MARK: - Internals

    private mutating func delivered(_ event: WatchEvent) {
        if let version = event.resourceVersion { resourceVersion = version }
        watchDelivered = true
        consecutiveFailures = 0
    }

    private mutating func recordFailure(_ failure: Failure) {
        counters.failures += 1
        consecutiveFailures += 1
        lastFailure = failure
    }

    private mutating func issueList(after delay: Duration) -> Action {
        phase = .listing
        counters.lists += 1
        return .list(after: delay)
    }

    private mutating func issueWatch(after delay: Duration) -> Action {
        phase = .watching
        watchDelivered = false
        counters.watches += 1
        let range = configuration.watchTimeoutSeconds
        let span = range.count
        let timeout = span == 1 ? range.lowerBound : range.lowerBound + min(Int(unitRandom() * Double(span)), span - 1)
        return .watch(from: resourceVersion, timeoutSeconds: timeout,
                      allowBookmarks: configuration.allowBookmarks, after: delay)
    }

    /// `initialBackoff` doubled per consecutive failure beyond the first,
    /// capped at `maximumBackoff`, then scaled by the jitter factor.
    private mutating func nextBackoff() -> Duration {
        let backoff = Backoff(initial: configuration.initialBackoff, maximum: configuration.maximumBackoff,
                              jitter: configuration.backoffJitter)
        // A draw of exactly one half gives a factor of exactly 1 (tests rely on it).
        return backoff.delay(afterFailures: consecutiveFailures, draw: unitRandom())
    }

    /// A uniform draw in `0..<1` from the top 53 bits of the generator's next value.
    private mutating func unitRandom() -> Double {
        Double(generator.next() >> 11) * 0x1p-53
    }

    /// Kubernetes bumps resourceVersion on every write, so equal versions
    /// mean the same object; without versions, compare the objects.
    private static func sameVersion(_ old: JSONValue, _ new: JSONValue) -> Bool {
        let oldVersion = old["metadata"]?["resourceVersion"]?.stringValue
        let newVersion = new["metadata"]?["resourceVersion"]?.stringValue
        if let oldVersion, let newVersion { return oldVersion == newVersion }
        return old == new
    }
}
