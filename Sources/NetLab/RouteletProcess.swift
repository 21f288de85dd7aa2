import Foundation

/// `routelet <arguments> --log-format json` in a network namespace (through
/// nsenter, so that /sys/fs/bpf stays the host's), its JSON log collected:
/// how tests and benchmarks run the agent, `standalone` and `apiserver`.
public final class RouteletProcess: Sendable {
    public let process: Process
    public let reader: JSONLogReader

    public init(namespace: NetworkNamespace, arguments: [String]) throws {
        let executable = ServerProcess.executable
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw ServerTestError("no routelet executable at \(executable); build it first")
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        process.arguments = ["--net=/run/netns/\(namespace.name)", executable] + arguments + ["--log-format", "json"]
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.runWithDefaultSignalMask()
        reader = JSONLogReader(stderr)
    }

    public var log: [[String: String]] { reader.log }
    public var rawLog: String { reader.text }

    /// The log lines with message `message`.
    public func entries(_ message: String) -> [[String: String]] { reader.entries(message) }

    /// Waits until a log line satisfies `predicate`; returns it.
    @discardableResult
    public func waitForLog(_ what: String, timeout: Double = 15, _ predicate: ([String: String]) -> Bool) throws -> [String: String] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = log.first(where: predicate) { return line }
            guard process.isRunning else {
                throw ServerTestError("routelet exited (\(process.terminationStatus)) before \(what):\n\(rawLog)")
            }
            Thread.sleep(forTimeInterval: 0.005)
        }
        throw ServerTestError("no \(what) within \(timeout) s; routelet's log:\n\(rawLog)")
    }

    /// Sends `signal` (default SIGTERM), waits for the exit and the end of the log.
    public func stop(signal: Int32 = SIGTERM) {
        if process.isRunning { kill(process.processIdentifier, signal) }
        process.waitUntilExit()
        reader.waitForEnd()
    }
}
