import Foundation

/// Runs external commands (ip, ping, python3) for labs and reports failures
/// with the command line, exit status and stderr.
public enum Command {
    public struct Failure: Error, CustomStringConvertible {
        public var command: [String]
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var description: String {
            "`\(command.joined(separator: " "))` exited with \(status): \(stderr.isEmpty ? stdout : stderr)"
        }
    }

    /// Runs `arguments` to completion; throws ``Failure`` on a non-zero exit.
    @discardableResult
    public static func run(_ arguments: [String], input: String? = nil) throws -> String {
        let (status, out, err) = try runAllowingFailure(arguments, input: input)
        guard status == 0 else { throw Failure(command: arguments, status: status, stdout: out, stderr: err) }
        return out
    }

    /// Runs `arguments` to completion and returns the exit status and output.
    public static func runAllowingFailure(_ arguments: [String], input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let stdout = Pipe(), stderr = Pipe(), stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = stdin
        try process.runWithDefaultSignalMask()
        // Read both pipes while the input is written and the process runs,
        // so that neither can fill up (a large input with a large answer,
        // as `ip -batch` of many `route get`, would block both sides).
        let errData = PipeCollector(stderr.fileHandleForReading)
        let outData = PipeCollector(stdout.fileHandleForReading)
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData.wait(), as: UTF8.self),
                String(decoding: errData.wait(), as: UTF8.self))
    }

    /// Starts `arguments` in the background; the caller must `stop` it.
    public static func start(_ arguments: [String]) throws -> Background {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.runWithDefaultSignalMask()
        return Background(process: process, stdout: PipeCollector(stdout.fileHandleForReading),
                          stderr: PipeCollector(stderr.fileHandleForReading), command: arguments)
    }

    /// A command running in the background.
    public final class Background: @unchecked Sendable {
        // Sendable: Process and the collectors are only touched through
        // their own thread-safe calls (terminate, wait, waitUntilExit).
        public let process: Process
        let stdout: PipeCollector
        let stderr: PipeCollector
        public let command: [String]

        init(process: Process, stdout: PipeCollector, stderr: PipeCollector, command: [String]) {
            self.process = process
            self.stdout = stdout
            self.stderr = stderr
            self.command = command
        }

        public var pid: Int32 { process.processIdentifier }

        /// Waits for the process to end on its own and returns its output.
        public func wait() -> (status: Int32, stdout: String, stderr: String) {
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: stdout.wait(), as: UTF8.self),
                    String(decoding: stderr.wait(), as: UTF8.self))
        }

        /// Sends `signal` (default SIGTERM) and waits.
        @discardableResult
        public func stop(signal: Int32 = SIGTERM) -> (status: Int32, stdout: String, stderr: String) {
            if process.isRunning { kill(process.processIdentifier, signal) }
            return wait()
        }
    }
}

/// Reads a pipe to its end on a background thread.
final class PipeCollector: @unchecked Sendable {
    // Sendable: `data` is written once by the reader thread before the
    // semaphore is signalled, and read only after waiting on it.
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        done.signal()
        return data
    }
}

extension Process {
    /// Starts the process with no signal blocked. A child inherits the signal
    /// mask of the thread that starts it, and Swift concurrency's threads
    /// block most signals: started from one, a C program (iperf3, sleep)
    /// would never see the SIGTERM that stops it. So the process is started
    /// from a short-lived thread of its own, with an empty mask.
    public func runWithDefaultSignalMask() throws {
        let box = UncheckedBox(self)
        let outcome = UncheckedBox<Result<Void, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            var none = sigset_t()
            sigemptyset(&none)
            pthread_sigmask(SIG_SETMASK, &none, nil)
            outcome.value = Result { try box.value.run() }
            done.signal()
        }
        thread.name = "spawn"
        thread.start()
        done.wait()
        try outcome.value?.get()
    }
}

/// Hands a value to the spawning thread, which is waited for before the
/// value is touched again.
private final class UncheckedBox<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
