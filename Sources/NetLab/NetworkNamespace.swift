import CRouteletSys
import Foundation

/// A network namespace made by a test or a demo, removed by `delete()`.
/// Names start with "rl" and carry a random suffix so parallel tests and
/// leftovers of an earlier run never collide.
public final class NetworkNamespace: Sendable {
    public let name: String

    public init(_ role: String) throws {
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        name = "rl\(role)-\(suffix)"
        try Command.run(["ip", "netns", "add", name])
        do {
            try Command.run(["ip", "-n", name, "link", "set", "lo", "up"])
        } catch {
            delete()
            throw error
        }
    }

    /// Removes the namespace; its veth ends and interfaces go with it.
    public func delete() {
        _ = try? Command.runAllowingFailure(["ip", "netns", "del", name])
    }

    /// Runs a command inside the namespace (`ip netns exec`).
    @discardableResult
    public func run(_ arguments: [String]) throws -> String {
        try Command.run(["ip", "netns", "exec", name] + arguments)
    }

    public func runAllowingFailure(_ arguments: [String], input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try Command.runAllowingFailure(["ip", "netns", "exec", name] + arguments, input: input)
    }

    public func start(_ arguments: [String]) throws -> Command.Background {
        try Command.start(["ip", "netns", "exec", name] + arguments)
    }

    /// `ip -n NAME ...`
    @discardableResult
    public func ip(_ arguments: String) throws -> String {
        try Command.run(["ip", "-n", name] + arguments.split(separator: " ").map(String.init))
    }

    public func sysctl(_ setting: String) throws {
        try run(["sysctl", "-q", "-w", setting])
    }

    /// Runs `body` on the calling thread with the thread switched into this
    /// namespace (setns), and switches back afterwards. `body` must be
    /// synchronous so that it stays on this thread.
    @discardableResult
    public func enter<T>(_ body: () throws -> T) throws -> T {
        let original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard original >= 0 else { throw NamespaceError(operation: "open /proc/thread-self/ns/net", errno: errno) }
        defer { close(original) }
        let target = open("/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
        guard target >= 0 else { throw NamespaceError(operation: "open /run/netns/\(name)", errno: errno) }
        defer { close(target) }
        guard rl_setns_net(target) == 0 else { throw NamespaceError(operation: "setns \(name)", errno: errno) }
        defer {
            if rl_setns_net(original) != 0 {
                // The thread would stay in a namespace that is about to be
                // deleted; nothing sane can continue on it.
                fatalError("setns back to the original network namespace failed: errno \(errno)")
            }
        }
        return try body()
    }
}

extension NetworkNamespace {
    /// Sets a link of this namespace up or down from this process (no `ip`
    /// to spawn), so that the moment of the change can be timed.
    public func setLink(_ name: String, up: Bool) throws {
        try enter {
            guard rl_set_link_up(name, up ? 1 : 0) == 0 else {
                throw NamespaceError(operation: "set \(name) \(up ? "up" : "down") in \(self.name)", errno: errno)
            }
        }
    }
}

public struct NamespaceError: Error, CustomStringConvertible {
    public var operation: String
    public var errno: Int32
    public var description: String { "\(operation): \(String(cString: strerror(errno))) (errno \(errno))" }
}
