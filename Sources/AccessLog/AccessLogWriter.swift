import Foundation
import NIOConcurrencyHelpers

/// Where the access log's JSON lines go.
public enum AccessLogDestination: Sendable, Hashable {
    case standardOutput
    /// Opened for appending (created 0644 if missing).
    case file(String)
}

/// Writes access-log lines from a thread of its own, so that no event loop
/// ever waits on the disk. Lines queue in memory; past `maxQueued` they are
/// dropped and counted rather than growing without bound. The writer is
/// woken only when it sleeps with nothing queued, and after each write it
/// lets `batchInterval` pass so that one write carries many lines: a busy
/// gateway wakes it about `1 / batchInterval` times a second, not once per
/// request.
public final class AccessLogWriter: Sendable {
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

    public struct OpenError: Error, CustomStringConvertible {
        var path: String
        var code: Int32
        public var description: String { "cannot open the access log \(path): \(String(cString: strerror(code)))" }
    }

    public init(destination: AccessLogDestination, threadName: String = "access-log") throws {
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
        thread.name = threadName
        thread.start()
    }

    /// Queues one line (its bytes, with the newline); never blocks on I/O.
    public func log(line: [UInt8]) {
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
    public var droppedLines: Int { queue.withLockedValue { $0.dropped } }

    /// Returns when every line queued so far is written (tests, shutdown).
    public func waitUntilWritten() {
        while queue.withLockedValue({ !$0.lines.isEmpty || $0.writing }) {
            usleep(1000)
        }
    }

    /// Writes what is queued, then ends the thread and closes the file.
    public func stop() {
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
