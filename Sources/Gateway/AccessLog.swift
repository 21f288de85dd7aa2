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
    var jsonLine: String { String(decoding: jsonBytes(), as: UTF8.self) }

    /// The line as bytes, with the newline when asked. Built by hand, one
    /// buffer and no Foundation formatting: it runs for every request.
    func jsonBytes(newline: Bool = false) -> [UInt8] {
        var line = JSONLine()
        line.raw("{\"time\":\"")
        line.rfc3339(time)
        line.raw("\",\"source\":\"gateway\",\"listener\":")
        line.string(listener)
        if let namespace { line.raw(",\"namespace\":"); line.string(namespace) }
        if let route { line.raw(",\"route\":"); line.string(route) }
        if let ruleIndex { line.raw(",\"rule\":"); line.integer(ruleIndex) }
        line.raw(",\"method\":"); line.string(Self.truncated(method))
        if let host { line.raw(",\"host\":"); line.string(Self.truncated(host)) }
        line.raw(",\"path\":"); line.string(Self.truncated(path))
        line.raw(",\"status\":"); line.integer(status)
        if let backend { line.raw(",\"backend\":"); line.string(backend) }
        line.raw(",\"duration_ms\":"); line.milliseconds(durationSeconds)
        line.raw(",\"bytes_received\":"); line.integer(bytesReceived)
        line.raw(",\"bytes_sent\":"); line.integer(bytesSent)
        if !headers.isEmpty {
            line.raw(",\"headers\":{")
            for (index, (name, value)) in headers.enumerated() {
                if index > 0 { line.raw(",") }
                line.string(name)
                line.raw(":")
                line.string(Self.truncated(value))
            }
            line.raw("}")
        }
        line.raw(newline ? "}\n" : "}")
        return line.bytes
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
}

/// The bytes of one access-log line as they are appended.
struct JSONLine {
    private(set) var bytes: [UInt8] = []

    init() {
        bytes.reserveCapacity(384)
    }

    mutating func raw(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// A JSON string: quotes, backslashes and control characters escaped.
    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case UInt8(ascii: "\n"): raw("\\n")
            case UInt8(ascii: "\r"): raw("\\r")
            case UInt8(ascii: "\t"): raw("\\t")
            case 0..<0x20, 0x7F:
                raw("\\u00")
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func integer(_ value: Int) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        digits(value.magnitude, width: 1)
    }

    /// Seconds as milliseconds with three decimals ("12.345").
    mutating func milliseconds(_ seconds: Double) {
        let micros = Int((max(seconds, 0) * 1_000_000).rounded())
        digits(UInt(micros / 1000), width: 1)
        bytes.append(UInt8(ascii: "."))
        digits(UInt(micros % 1000), width: 3)
    }

    /// "2025-06-01T12:00:00.123Z", without the quotes.
    mutating func rfc3339(_ date: Date) {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(interval.rounded(.down))
        let millis = min(999, max(0, Int((interval - Double(seconds)) * 1000)))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        digits(UInt(parts.tm_year + 1900), width: 4)
        bytes.append(UInt8(ascii: "-"))
        digits(UInt(parts.tm_mon + 1), width: 2)
        bytes.append(UInt8(ascii: "-"))
        digits(UInt(parts.tm_mday), width: 2)
        bytes.append(UInt8(ascii: "T"))
        digits(UInt(parts.tm_hour), width: 2)
        bytes.append(UInt8(ascii: ":"))
        digits(UInt(parts.tm_min), width: 2)
        bytes.append(UInt8(ascii: ":"))
        digits(UInt(parts.tm_sec), width: 2)
        bytes.append(UInt8(ascii: "."))
        digits(UInt(millis), width: 3)
        bytes.append(UInt8(ascii: "Z"))
    }

    /// Decimal digits, zero-padded to at least `width`.
    private mutating func digits(_ value: UInt, width: Int) {
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: UInt.max has 20 digits
        withUnsafeMutableBytes(of: &scratch) { buffer in
            var index = buffer.count
            var rest = value
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0 || buffer.count - index < width
            bytes.append(contentsOf: buffer[index...])
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}

/// Writes access-log lines from a thread of its own, so that no event loop
/// ever waits on the disk. Lines queue in memory; past `maxQueued` they are
/// dropped and counted rather than growing without bound. The writer is
/// woken only when it sleeps with nothing queued, and after each write it
/// lets `batchInterval` pass so that one write carries many lines: a busy
/// gateway wakes it about `1 / batchInterval` times a second, not once per
/// request.
final class AccessLogWriter: Sendable {
    private struct State {
        var lines: [[UInt8]] = []
        var writing = false
        /// The writer waits for a signal; the next line must wake it.
        var asleep = false
        var stopped = false
        var dropped = 0
    }

    private let fd: Int32
    private let ownsDescriptor: Bool
    private let wakeup = ConditionLock(value: 0)
    private let queue = NIOLockedValueBox(State())
    private let maxQueued = 100_000
    private let batchInterval: useconds_t = 5_000

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
        let line = entry.jsonBytes(newline: true)
        let wake = queue.withLockedValue { state -> Bool in
            guard !state.stopped, state.lines.count < maxQueued else {
                state.dropped += 1
                return false
            }
            state.lines.append(line)
            defer { state.asleep = false }
            return state.asleep
        }
        if wake { signal() }
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
        wakeup.lock()
        wakeup.unlock(withValue: 1)
    }

    private func loop() {
        while true {
            let (lines, stopped) = queue.withLockedValue { state -> ([[UInt8]], Bool) in
                let lines = state.lines
                state.lines.removeAll(keepingCapacity: true)
                state.writing = !lines.isEmpty
                // Nothing to write: sleep until a line (or stop) signals.
                state.asleep = lines.isEmpty && !state.stopped
                return (lines, state.stopped)
            }
            if !lines.isEmpty {
                writeAll(lines)
                queue.withLockedValue { $0.writing = false }
                if !stopped { usleep(batchInterval) }
            } else if !stopped {
                // A signal sent between the check above and this wait leaves
                // the value at 1, so it is not lost.
                wakeup.lock(whenValue: 1)
                wakeup.unlock(withValue: 0)
            }
            if stopped {
                if ownsDescriptor { close(fd) }
                return
            }
        }
    }

    private func writeAll(_ lines: [[UInt8]]) {
        var text: [UInt8] = []
        text.reserveCapacity(lines.reduce(0) { $0 + $1.count })
        for line in lines { text.append(contentsOf: line) }
        text.withUnsafeBufferPointer { buffer in
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
