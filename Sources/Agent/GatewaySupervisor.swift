import CRouteletSys
import Foundation
import GatewayConfig
import KubeClient
import Logging
import ServiceLifecycle

/// Keeps one `routelet gateway` running beside the agent: started as a
/// child when none runs, adopted when one already does (an agent that
/// restarts finds the gateway it started before, which kept serving), and
/// restarted with backoff when it dies. The gateway writes its pid into the
/// snapshot directory (`gateway.pid`); that file is how an agent finds it.
///
/// The agent leaves the gateway running when it stops, as it leaves the
/// eBPF data plane: HTTP connections outlive agent restarts and upgrades.
/// `routelet cleanup` stops it.
public struct GatewaySupervisor: Service {
    /// The routelet executable and the `gateway ...` arguments.
    let executable: String
    let arguments: [String]
    let directory: URL
    let logger: Logger

    public init(executable: String, arguments: [String], directory: URL, logger: Logger) {
        self.executable = executable
        self.arguments = arguments
        self.directory = directory
        self.logger = logger
    }

    public func run() async throws {
        // The gateway stays when the agent stops (see above): nothing to do but stop watching.
        try? await cancelWhenGracefulShutdown { try await supervise() }
    }

    private func supervise() async throws {
        var backoff = Backoff(initial: .seconds(1), maximum: .seconds(30))
        var child: pid_t?
        var startedAt = ContinuousClock.now
        var reported: pid_t?
        while !Task.isCancelled {
            if let pid = child, reap(pid) {
                child = nil
                let lived = ContinuousClock.now - startedAt
                if lived > .seconds(30) { backoff.reset() }
                let delay = backoff.next()
                logger.error("routelet gateway exited; restarting it", metadata: ["pid": "\(pid)", "after": "\(lived)", "retryIn": "\(delay)"])
                try await Task.sleep(for: delay)
                continue
            }
            if child == nil, let running = GatewayPIDFile.runningGateway(in: directory) {
                if reported != running {
                    logger.info("routelet gateway already running; adopted", metadata: ["pid": "\(running)"])
                    reported = running
                }
            } else if child == nil {
                do {
                    let pid = try spawn()
                    child = pid
                    reported = pid
                    startedAt = .now
                    logger.info("routelet gateway started", metadata: ["pid": "\(pid)", "dir": "\(directory.path)"])
                } catch {
                    let delay = backoff.next()
                    logger.error("cannot start routelet gateway", metadata: ["error": "\(error)", "retryIn": "\(delay)"])
                    try await Task.sleep(for: delay)
                    continue
                }
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    /// Whether the child `pid` has exited (and is reaped).
    private func reap(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid
    }

    private func spawn() throws -> pid_t {
        let argv = [executable] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        var cEnvironment = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArguments.forEach { free($0) }
            cEnvironment.forEach { free($0) }
        }
        var pid: Int32 = 0
        let result = rl_spawn(executable, &cArguments, &cEnvironment, &pid)
        guard result == 0 else { throw GatewaySpawnError(executable: executable, code: result) }
        return pid
    }

    /// This process's executable (`/proc/self/exe`), to start `routelet gateway` from.
    public static func currentExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

struct GatewaySpawnError: Error, CustomStringConvertible {
    let executable: String
    let code: Int32
    var description: String { "posix_spawn \(executable): \(String(cString: strerror(code)))" }
}

/// `gateway.pid` in the snapshot directory: written by `routelet gateway`
/// when it serves, removed when it exits cleanly.
public enum GatewayPIDFile {
    public static let name = "gateway.pid"

    /// The pid of the gateway serving `directory`, when it is alive.
    public static func runningGateway(in directory: URL) -> pid_t? {
        guard let text = try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0 else { return nil }
        // Alive, not a zombie, and a routelet gateway (pids are reused).
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")"), !stat[close...].hasPrefix(") Z"),
              let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        let words = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        // One in another network namespace serves other interfaces: not ours.
        // thread-self: `--netns` moves only the calling thread (an async main
        // runs on a pool thread), and /proc/self is the main thread's.
        guard words.contains("gateway"), networkNamespace(of: "\(pid)") == networkNamespace(of: "thread-self") else { return nil }
        return pid
    }

    /// "net:[4026531840]": which network namespace a process is in.
    static func networkNamespace(of process: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(process)/ns/net")
    }

    public static func write(in directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try GatewaySnapshot.writeAtomically(Data("\(getpid())\n".utf8), to: directory.appendingPathComponent(name))
    }

    public static func remove(in directory: URL) {
        let url = directory.appendingPathComponent(name)
        if let text = try? String(contentsOf: url, encoding: .utf8), pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) == getpid() {
            unlink(url.path)
        }
    }

    /// Stops the gateway serving `directory` (SIGTERM, then SIGKILL after
    /// `grace`); its pid, or nil when none ran.
    @discardableResult
    public static func stop(in directory: URL, grace: Duration = .seconds(10)) -> pid_t? {
        guard let pid = runningGateway(in: directory) else { return nil }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline, runningGateway(in: directory) == pid {
            usleep(50_000)
        }
        if runningGateway(in: directory) == pid { kill(pid, SIGKILL) }
        return pid
    }
}
