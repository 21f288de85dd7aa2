import AccessLog
import Dataplane
import DataplaneModel
import Foundation
import Logging
import NetAddress
import ServiceLifecycle
import Synchronization

/// Writes the header captures of TCP listeners (`accessLog.headers`, read in
/// eBPF from each flow's first segment, `rl_capture_ring`) as access-log
/// lines, the same JSON the HTTP gateway writes, with `"source":"ebpf"`.
///
/// Off the reconcile loop: a thread of its own blocks in the ring's poll.
/// It opens the pinned maps once the agent has created them, and names what
/// a record holds from the maps themselves (listener, backend, the header
/// names of the list the record's digest names), cached, so a record is
/// never named by a later list than the one that captured it.
///
/// The access log is opened at the first record, so that an agent without
/// such listeners never touches it (and a directory created after the start,
/// like the state directory, is fine). When it cannot be opened, lines are
/// dropped and the error is logged once a minute.
public final class CaptureLogService: Service, Sendable {
    let pinDirectory: String
    let accessLog: AccessLogDestination
    let health: AgentHealth
    let logger: Logger
    private let stopped = Mutex(false)
    private let finished = Mutex(false)
    private let writer = Mutex<AccessLogWriter?>(nil)

    public init(pinDirectory: String, accessLog: AccessLogDestination, health: AgentHealth, logger: Logger) {
        self.pinDirectory = pinDirectory
        self.accessLog = accessLog
        self.health = health
        self.logger = logger
    }

    public func run() async throws {
        let thread = Thread { [self] in
            loop()
            finished.withLock { $0 = true }
        }
        thread.name = "capture-log"
        thread.start()
        try? await gracefulShutdown()   // returns on shutdown, throws when cancelled
        stopped.withLock { $0 = true }
        while !finished.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(10)) }
        writer.withLock { $0 }?.stop()
    }

    private var isStopped: Bool { stopped.withLock { $0 } }

    private func loop() {
        var reader: CaptureReader?
        let started = Date()
        var warned = false
        var openFailedAt: Date?
        /// The writer, opened at the first line.
        func open() -> AccessLogWriter? {
            if let current = writer.withLock({ $0 }) { return current }
            if let failed = openFailedAt, Date().timeIntervalSince(failed) < 60 { return nil }
            do {
                let opened = try AccessLogWriter(destination: accessLog, threadName: "capture-access-log")
                writer.withLock { $0 = opened }
                return opened
            } catch {
                logger.warning("header captures are dropped: \(error)")
                openFailedAt = Date()
                return nil
            }
        }
        while !isStopped {
            guard let current = reader else {
                do {
                    reader = try CaptureReader(pinDirectory: pinDirectory, health: health)
                    logger.debug("reading header captures", metadata: ["pins": "\(pinDirectory)"])
                } catch {
                    // The agent creates the pins on its first pass; past 30 s, say why once.
                    if !warned, Date().timeIntervalSince(started) > 30 {
                        logger.warning("header captures are not read: \(error)")
                        warned = true
                    }
                    usleep(200_000)
                }
                continue
            }
            do {
                try current.poll(timeoutMilliseconds: 100) { open()?.log(line: $0) }
            } catch {
                logger.warning("header captures: \(error); reopening the ring")
                reader = nil
                usleep(200_000)
            }
        }
    }
}

/// The ring, the maps that name its records, and what was read of them.
final class CaptureReader {
    let maps: GatewayMaps
    let ring: CaptureRing
    let health: AgentHealth
    /// Listener id -> its key and its name in lines ("198.51.100.10:80").
    private var listeners: [UInt32: (key: ListenerKey, name: String)] = [:]
    private var backends: [UInt32: BackendEntry] = [:]
    /// (listener id, digest) -> its names.
    private var names: [CaptureKey: CaptureNames] = [:]

    private struct CaptureKey: Hashable {
        var listenerID: UInt32
        var digest: UInt32
    }

    init(pinDirectory: String, health: AgentHealth) throws {
        let router = try RouterMaps.openPinned(directory: pinDirectory)
        maps = try GatewayMaps.openPinned(directory: pinDirectory, router: router)
        ring = try maps.openCaptureRing()
        self.health = health
    }

    /// Waits up to the timeout for records; each becomes one line.
    func poll(timeoutMilliseconds: Int32, _ body: @escaping ([UInt8]) -> Void) throws {
        var records: [CaptureRecord] = []
        try ring.poll(timeoutMilliseconds: timeoutMilliseconds) { records.append($0) }
        guard !records.isEmpty else { return }
        let clock = CaptureClock()
        let owners = health.listenerOwners
        for record in records {
            body(line(record, time: clock.date(ofMonotonic: record.monotonicNanoseconds), owners: owners))
        }
    }

    func line(_ record: CaptureRecord, time: Date, owners: [ListenerKey: String]) -> [UInt8] {
        let listener = lookup(&listeners, record.listenerID) {
            try maps.allListeners().reduce(into: [:]) { $0[$1.value.id] = ($1.key, Self.hostPort($1.key)) }
        }
        let backend = lookup(&backends, record.backendID) { try maps.allBackends() }
        let key = CaptureKey(listenerID: record.listenerID, digest: record.namesDigest)
        if names[key] == nil, let current = try? maps.captureNames(listenerID: record.listenerID), current.digest == record.namesDigest {
            if names.count > 4 * 1024 { names.removeAll() }
            names[key] = current.names
        }
        let owner = listener.flatMap { owners[$0.key] }?.split(separator: "/", maxSplits: 1).map(String.init)
        return CaptureLine(record: record, time: time, listener: listener?.name, owner: owner,
                           backend: backend?.description, names: names[key]?.names).bytes
    }

    /// `cache[id]`, reloading the whole cache from `load` when it lacks it
    /// (ids are reassigned rarely; a miss costs one walk of the map).
    private func lookup<Value>(_ cache: inout [UInt32: Value], _ id: UInt32, load: () throws -> [UInt32: Value]) -> Value? {
        if let value = cache[id] { return value }
        if let loaded = try? load() { cache = loaded }
        return cache[id]
    }

    /// "198.51.100.10:80", as the HTTP gateway names its listeners.
    static func hostPort(_ key: ListenerKey) -> String {
        key.address.family == .v6 ? "[\(key.address)]:\(key.port)" : "\(key.address):\(key.port)"
    }
}

/// CLOCK_MONOTONIC (the program's clock) to wall-clock time, read once per batch.
struct CaptureClock {
    let wall: Date
    let monotonic: UInt64

    init() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        monotonic = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        wall = Date()
    }

    func date(ofMonotonic nanoseconds: UInt64) -> Date {
        let age = monotonic > nanoseconds ? Double(monotonic - nanoseconds) / 1e9 : 0
        return wall.addingTimeInterval(-age)
    }
}

/// One access-log line of a header capture. The fields the HTTP gateway
/// writes, those a first segment can tell: no status, duration or sizes
/// (no proxy sees the answer), and the client, which the backend sees only
/// as the node's address when the listener SNATs.
struct CaptureLine {
    var record: CaptureRecord
    var time: Date
    var listener: String?
    /// [namespace, name] of the GatewayRoute.
    var owner: [String]?
    var backend: String?
    /// The names of the record's list; nil when it changed twice before the
    /// record was read (values are then named by position, "#0").
    var names: [String]?

    var bytes: [UInt8] {
        var line = JSONLine()
        line.raw("{\"time\":\"")
        line.rfc3339(time)
        line.raw("\",\"source\":\"ebpf\",\"listener\":")
        line.string(listener ?? "listener#\(record.listenerID)")
        if let owner, owner.count == 2 {
            line.raw(",\"namespace\":"); line.string(owner[0])
            line.raw(",\"route\":"); line.string(owner[1])
        }
        line.raw(",\"method\":"); line.string(String(decoding: record.method, as: UTF8.self))
        line.raw(",\"path\":"); line.string(String(decoding: record.path, as: UTF8.self))
        line.raw(",\"version\":"); line.string("HTTP/1.\(record.version)")
        if let client = record.client {
            line.raw(",\"client\":")
            line.string(client.family == .v6 ? "[\(client)]:\(record.clientPort)" : "\(client):\(record.clientPort)")
        }
        if let backend { line.raw(",\"backend\":"); line.string(backend) }
        if !record.values.isEmpty {
            line.raw(",\"headers\":{")
            for (position, value) in record.values.enumerated() {
                if position > 0 { line.raw(",") }
                let name = names.flatMap { value.index < $0.count ? $0[value.index] : nil } ?? "#\(value.index)"
                line.string(name)
                line.raw(":")
                line.string(String(decoding: value.bytes, as: UTF8.self))
            }
            line.raw("}")
        }
        if record.isPathCut || record.values.contains(where: \.isCut) { line.raw(",\"truncated\":true") }
        if record.isHeaderSectionCut { line.raw(",\"incomplete\":true") }
        line.raw("}\n")
        return line.bytes
    }
}
