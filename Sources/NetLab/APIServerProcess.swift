import Foundation
import NetLab

public struct ServerTestError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// `routelet apiserver` as a separate process on a free loopback port, with
/// its own data directory and kubeconfig, for tests and benchmarks (the
/// `routelet` executable is found beside the running one); `stop()` it in
/// a `defer`.
public final class ServerProcess: @unchecked Sendable {
    // Sendable: `process` is replaced only by `restart()`, which tests call
    // from the one task that owns the server.
    public private(set) var process: Process
    public let dataDir: String
    public let kubeconfig: String
    public let port: Int
    public let extraArguments: [String]
    public let logPath: String

    public static var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("routelet").path
    }

    public init(extraArguments: [String] = []) throws {
        let id = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        dataDir = NSTemporaryDirectory() + "rl-apiserver-\(id)"
        kubeconfig = dataDir + "/kubeconfig"
        logPath = NSTemporaryDirectory() + "rl-apiserver-\(id).log"
        port = Int.random(in: 20000...40000)
        self.extraArguments = extraArguments
        process = Process()
        try start()
    }

    public func start() throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["apiserver", "--listen", "127.0.0.1:\(port)", "--data-dir", dataDir, "--kubeconfig-out", kubeconfig] + extraArguments
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        guard let logHandle = FileHandle(forWritingAtPath: logPath) else { throw ServerTestError("cannot open \(logPath)") }
        logHandle.seekToEndOfFile()
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.runWithDefaultSignalMask()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: kubeconfig),
               let result = try? Command.runAllowingFailure(["kubectl", "--kubeconfig", kubeconfig, "get", "--raw", "/healthz"]),
               result.status == 0 {
                return
            }
            guard process.isRunning else { throw ServerTestError("the API server exited (\(process.terminationStatus)):\n\(log())") }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw ServerTestError("the API server did not answer within 30 s:\n\(log())")
    }

    public func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Kills it (SIGKILL by default) and starts it again on the same data.
    public func restart(signal: Int32 = SIGKILL) throws {
        halt(signal: signal)
        try start()
    }

    /// Kills it and waits for the exit, keeping its data for `start()`.
    public func halt(signal: Int32 = SIGKILL) {
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }

    public func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: dataDir)
        try? FileManager.default.removeItem(atPath: logPath)
    }

    /// Runs kubectl (the machine's, or another binary) against this server.
    @discardableResult
    public func kubectl(_ arguments: [String], binary: String = "kubectl", input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try Command.runAllowingFailure([binary, "--kubeconfig", kubeconfig] + arguments, input: input)
    }
}
