#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An owned file descriptor (a BPF map or program), closed when the last
/// reference goes away.
///
/// Sendable: `rawValue` never changes after init, and the kernel object
/// behind it is safe to use from any thread.
public final class FileDescriptor: Sendable {
    public let rawValue: Int32

    /// Takes ownership of `rawValue`.
    public init(owning rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// Duplicates a descriptor someone else owns (for example libbpf's).
    public static func duplicate(_ rawValue: Int32, what: String) throws(BPFError) -> FileDescriptor {
        let copy = fcntl(rawValue, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw BPFError(operation: "fcntl(F_DUPFD_CLOEXEC)", object: what, errno: errno) }
        return FileDescriptor(owning: copy)
    }

    deinit { close(rawValue) }
}
