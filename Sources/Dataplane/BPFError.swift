#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed kernel or libbpf operation: what was attempted, on what, and the
/// errno the kernel answered with.
public struct BPFError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The syscall or libbpf function, e.g. `bpf_map_update_elem`.
    public var operation: String
    /// What it was applied to, e.g. `map rl_routes_v4` or `interface r-a (ifindex 3)`.
    public var object: String
    /// The positive errno value, or 0 when the failure carried none.
    public var errno: Int32
    /// Extra context for the reader (what to do about it), if any.
    public var hint: String?

    public init(operation: String, object: String, errno: Int32, hint: String? = nil) {
        self.operation = operation
        self.object = object
        self.errno = errno
        self.hint = hint
    }

    /// From a libbpf return value: libbpf 1.x returns -errno.
    init(operation: String, object: String, returned: Int32) {
        self.init(operation: operation, object: object, errno: returned < 0 ? -returned : Glibc.errno)
    }

    public var description: String {
        var text = "\(operation) on \(object) failed"
        if errno != 0 { text += ": \(String(cString: strerror(errno))) (errno \(errno))" }
        if let hint { text += "; \(hint)" }
        return text
    }
}

/// Calls a libbpf function that returns 0 or -errno (libbpf 1.x), retrying
/// on EINTR, and turns a failure into a ``BPFError``.
@discardableResult
func bpfCall(_ operation: String, _ object: @autoclosure () -> String, _ body: () -> Int32) throws(BPFError) -> Int32 {
    while true {
        let result = body()
        if result >= 0 { return result }
        if result == -EINTR { continue }
        throw BPFError(operation: operation, object: object(), errno: -result)
    }
}

/// The `sz` to declare for a libbpf options struct: the end of its last
/// field. Swift does not keep a struct's trailing padding zeroed when it
/// copies it, and libbpf rejects options whose bytes past the last known
/// field are not zero; declaring only up to the last field avoids both.
func libbpfOptionsSize<Options, Field>(_ lastField: KeyPath<Options, Field>) -> Int {
    MemoryLayout<Options>.offset(of: lastField)! + MemoryLayout<Field>.size
}
