import CRouteletSys
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A command that exited non-zero, with what it printed.
struct CommandFailure: Error, CustomStringConvertible {
    var command: [String]
    var status: Int32
    var output: String
    var description: String { "`\(command.joined(separator: " "))` exited \(status): \(output)" }
}

/// Runs a program to completion, returning stdout; throws on a non-zero exit.
@discardableResult
func run(_ arguments: [String], input: String? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: arguments[0])
    process.arguments = Array(arguments.dropFirst())
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    let stdin = Pipe()
    if input != nil { process.standardInput = stdin }
    try process.run()
    if let input {
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
    }
    let out = stdout.fileHandleForReading.readDataToEndOfFile()
    let err = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw CommandFailure(command: arguments, status: process.terminationStatus,
                             output: String(decoding: err + out, as: UTF8.self))
    }
    return String(decoding: out, as: UTF8.self)
}

/// A network namespace created for one test (`ip netns add rlnl-<random>`),
/// to be deleted with ``delete()`` in a `defer`.
struct ScratchNamespace {
    static let ip = "/usr/sbin/ip"
    let name: String

    static func create() throws -> ScratchNamespace {
        let name = "rlnl-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        try run([ip, "netns", "add", name])
        return ScratchNamespace(name: name)
    }

    func delete() {
        do {
            try run([Self.ip, "netns", "del", name])
        } catch {
            print("warning: could not delete network namespace \(name): \(error)")
        }
    }

    /// `ip -n <name> <arguments>`.
    @discardableResult
    func ip(_ arguments: String...) throws -> String {
        try run([Self.ip, "-n", name] + arguments)
    }

    /// `ip -n <name> -batch -` with one command per line.
    func ipBatch(_ commands: [String]) throws {
        try run([Self.ip, "-n", name, "-batch", "-"], input: commands.joined(separator: "\n") + "\n")
    }

    /// `ip -n <name> -j <arguments>` parsed as a JSON array of objects.
    func ipJSON(_ arguments: String...) throws -> [[String: Any]] {
        let text = try run([Self.ip, "-n", name, "-j"] + arguments)
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []
    }

    /// Runs `body` with the calling thread inside the namespace, then moves
    /// the thread back. Sockets created in `body` stay bound to this
    /// namespace. Synchronous, so the thread cannot change under it.
    func enter<T>(_ body: () throws -> T) throws -> T {
        let home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard home >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(home) }
        let target = open("/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
        guard target >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(target) }
        guard rl_setns_net(target) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer {
            // A pool thread left in the scratch namespace would break every
            // later test that runs on it; there is no safe way to go on.
            if rl_setns_net(home) != 0 { fatalError("cannot return to the original network namespace: errno \(errno)") }
        }
        return try body()
    }
}

/// Counts the events of a change stream consumed by a background task.
final class ChangeRecorder: Sendable {
    private struct State { var count = 0; var finished = false; var failure: String? }
    private let state = Mutex(State())
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    init(_ stream: AsyncThrowingStream<Void, any Error>) {
        let consumer = Task { [self] in
            do {
                for try await _ in stream { self.state.withLock { $0.count += 1 } }
            } catch {
                self.state.withLock { $0.failure = "\(error)" }
            }
            self.state.withLock { $0.finished = true }
        }
        task.withLock { $0 = consumer }
    }

    var count: Int { state.withLock { $0.count } }
    var finished: Bool { state.withLock { $0.finished } }
    var failure: String? { state.withLock { $0.failure } }

    func cancel() { task.withLock { $0?.cancel() } }

    /// Waits until no event has arrived for `quiet`, so later events are new.
    func settle(quiet: Duration = .milliseconds(300), limit: Duration = .seconds(5)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        var last = count
        var lastChange = clock.now
        while clock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            if count != last { last = count; lastChange = clock.now }
            if clock.now - lastChange >= quiet { return }
        }
    }
}

/// Polls `condition` every 20 ms until it holds or `limit` passes.
func eventually(within limit: Duration, _ condition: () throws -> Bool) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + limit
    while true {
        if try condition() { return true }
        if clock.now >= deadline { return false }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// Names of this process's threads (/proc/self/task/*/comm).
func threadNames() -> [String] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.compactMap { try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8) }
        .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// How many open fds of this process are netlink sockets. (Counting every
/// socket would also count Foundation.Process's helper sockets, which close
/// asynchronously.)
func netlinkSocketCount() -> Int {
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return fds.compactMap { Int32($0) }.filter { fd in
        var domain: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) == 0 && domain == AF_NETLINK
    }.count
}
