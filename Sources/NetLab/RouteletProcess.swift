import Foundation

/// `routelet <arguments> --log-format json` in a network namespace (through
/// nsenter, so that /sys/fs/bpf stays the host's), its JSON log collected:
/// how tests and benchmarks run the agent, `standalone` and `apiserver`.
public final class RouteletProcess: Sendable {
    public let process: Process
    public let reader: JSONLogReader

    /// The snapshot directory of the gateway an agent started, stopped with it.
    public let gatewayDirectory: String?

    /// `agent` and `standalone` run without a gateway child unless the
    /// arguments ask for one (`--gateway child`); the child is stopped by
    /// ``stop(signal:)`` and ``stopGateway()``.
    public init(namespace: NetworkNamespace, arguments: [String]) throws {
        var arguments = arguments
        let isAgent = ["agent", "standalone"].contains(arguments.first ?? "")
        if isAgent && !arguments.contains("--gateway") { arguments += ["--gateway", "external"] }
        if isAgent, let index = arguments.firstIndex(of: "--gateway"), arguments.indices.contains(index + 1), arguments[index + 1] == "child" {
            gatewayDirectory = Self.value(of: "--gateway-dir", in: arguments)
                ?? Self.value(of: "--state-dir", in: arguments).map { $0 + "/gateway" } ?? "/run/routelet/gateway"
        } else {
            gatewayDirectory = nil
        }
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

    /// Sends `signal` (default SIGTERM), waits for the exit and the end of
    /// the log; a gateway child, which outlives its agent and shares its
    /// log, is stopped too unless `leavingGateway` (an agent killed and
    /// started again adopts it, as on a node; the log then goes on with
    /// the gateway's lines, so its end is not waited for).
    public func stop(signal: Int32 = SIGTERM, leavingGateway: Bool = false) {
        if process.isRunning { kill(process.processIdentifier, signal) }
        process.waitUntilExit()
        guard !leavingGateway || gatewayDirectory == nil else { return }
        stopGateway()
        reader.waitForEnd()
    }

    /// The pid of the gateway the agent started (from `gateway.pid`), if it runs.
    public var gatewayPID: pid_t? {
        guard let gatewayDirectory,
              let text = try? String(contentsOfFile: gatewayDirectory + "/gateway.pid", encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0, kill(pid, 0) == 0 else { return nil }
        return pid
    }

    /// Stops the gateway child (SIGTERM, SIGKILL after 10 s), if any.
    public func stopGateway() {
        guard let pid = gatewayPID else { return }
        kill(pid, SIGTERM)
        for _ in 0..<200 where kill(pid, 0) == 0 { Thread.sleep(forTimeInterval: 0.05) }
        if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
    }

    private static func value(of option: String, in arguments: [String]) -> String? {
        guard let index = arguments.firstIndex(of: option), arguments.indices.contains(index + 1) else { return nil }
        return arguments[index + 1]
    }
}
