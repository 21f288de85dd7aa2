import Foundation
import NIOConcurrencyHelpers

/// One request as the access log records it.
struct AccessLogEntry: Sendable {
    var time: Date
    var listener: String
    var namespace: String?
    var route: String?
    var ruleIndex: Int?
    var method: String
    var host: String?
    var path: String
    var status: Int
    var backend: String?
    var durationSeconds: Double
    var bytesReceived: Int
    var bytesSent: Int
    /// The route's accessLogHeaders the request has, in the route's order.
    var headers: [(String, String)]

    /// No value from the request is logged beyond its first 256 bytes.
    static let maxValueBytes = 256

    /// One JSON object, keys in a fixed order, without the newline.
    var jsonLine: String {
        var line = "{\"time\":\(Self.quoted(Self.rfc3339(time))),\"source\":\"gateway\",\"listener\":\(Self.quoted(listener))"
        if let namespace { line += ",\"namespace\":\(Self.quoted(namespace))" }
        if let route { line += ",\"route\":\(Self.quoted(route))" }
        if let ruleIndex { line += ",\"rule\":\(ruleIndex)" }
        line += ",\"method\":\(Self.quoted(Self.truncated(method)))"
        if let host { line += ",\"host\":\(Self.quoted(Self.truncated(host)))" }
        line += ",\"path\":\(Self.quoted(Self.truncated(path))),\"status\":\(status)"
        if let backend { line += ",\"backend\":\(Self.quoted(backend))" }
        line += ",\"duration_ms\":\(String(format: "%.3f", durationSeconds * 1000))"
        line += ",\"bytes_received\":\(bytesReceived),\"bytes_sent\":\(bytesSent)"
        if !headers.isEmpty {
            line += ",\"headers\":{"
            line += headers.map { "\(Self.quoted($0.0)):\(Self.quoted(Self.truncated($0.1)))" }.joined(separator: ",")
            line += "}"
        }
        return line + "}"
    }

    /// The longest prefix of at most 256 bytes that ends on a character boundary.
    static func truncated(_ value: String) -> String {
        guard value.utf8.count > maxValueBytes else { return value }
        var bytes = 0
        var prefix = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            bytes += UTF8.width(scalar)
            if bytes > maxValueBytes { break }
            prefix.append(scalar)
        }
        return String(prefix)
    }

    static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// "2025-06-01T12:00:00.123Z".
    static func rfc3339(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(interval.rounded(.down))
        let millis = Int((interval - Double(seconds)) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis)
    }
}

/// Writes access-log lines from a thread of its own, so that no event loop
/// ever waits on the disk. Lines queue in memory; past `maxQueued` they are
/// dropped and counted rather than growing without bound.
final class AccessLogWriter: Sendable {
    private struct State {
        var lines: [String] = []
        var writing = false
        var stopped = false
        var dropped = 0
    }

    private let fd: Int32
    private let ownsDescriptor: Bool
    private let state = ConditionLock(value: 0)
    private let queue = NIOLockedValueBox(State())
    private let maxQueued = 100_000

    struct OpenError: Error, CustomStringConvertible {
        var path: String
        var code: Int32
        var description: String { "cannot open the access log \(path): \(String(cString: strerror(code)))" }
    }

    init(destination: AccessLogDestination) throws {
        switch destination {
        case .standardOutput:
            fd = STDOUT_FILENO
            ownsDescriptor = false
        case .file(let path):
            var descriptor: Int32
            repeat { descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644) } while descriptor < 0 && errno == EINTR
            guard descriptor >= 0 else { throw OpenError(path: path, code: errno) }
            fd = descriptor
            ownsDescriptor = true
        }
        let thread = Thread { [self] in self.loop() }
        thread.name = "gateway-access-log"
        thread.start()
    }

    /// Queues one line; never blocks on I/O.
    func log(_ entry: AccessLogEntry) {
        let line = entry.jsonLine + "\n"
        let accepted = queue.withLockedValue { state -> Bool in
            guard !state.stopped, state.lines.count < maxQueued else { state.dropped += 1; return false }
            state.lines.append(line)
            return true
        }
        if accepted { signal() }
    }

    /// Lines dropped because the writer could not keep up.
    var droppedLines: Int { queue.withLockedValue { $0.dropped } }

    /// Returns when every line queued so far is written (tests, shutdown).
    func waitUntilWritten() {
        while queue.withLockedValue({ !$0.lines.isEmpty || $0.writing }) {
            usleep(1000)
        }
    }

    /// Writes what is queued, then ends the thread and closes the file.
    func stop() {
        waitUntilWritten()
        queue.withLockedValue { $0.stopped = true }
        signal()
    }

    private func signal() {
        state.lock()
        state.unlock(withValue: 1)
    }

    private func loop() {
        while true {
            state.lock(whenValue: 1)
            state.unlock(withValue: 0)
            let (lines, stopped) = queue.withLockedValue { state -> ([String], Bool) in
                let lines = state.lines
                state.lines.removeAll(keepingCapacity: true)
                state.writing = !lines.isEmpty
                return (lines, state.stopped)
            }
            if !lines.isEmpty {
                writeAll(lines.joined())
                queue.withLockedValue { $0.writing = false }
            }
            if stopped {
                if ownsDescriptor { close(fd) }
                return
            }
        }
    }

    private func writeAll(_ text: String) {
        var text = text
        text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    return  // a broken log must not stop the proxy; the next line tries again
                }
                offset += n
            }
        }
    }
}
