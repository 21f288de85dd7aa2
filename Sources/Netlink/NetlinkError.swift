#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed netlink operation: which step failed, the errno that explains it,
/// and for malformed kernel data a description of the offending field.
public struct NetlinkError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The step that failed, such as "recvfrom" or "parse RTM_NEWLINK".
    public var operation: String
    /// The errno reported by the kernel or syscall; EBADMSG for malformed bytes.
    public var errno: Int32
    /// What was wrong with the data, when the errno alone does not say.
    public var detail: String?

    public init(operation: String, errno: Int32, detail: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        var text = "\(operation): \(String(cString: strerror(self.errno))) (errno \(self.errno))"
        if let detail { text += ": \(detail)" }
        return text
    }

    /// Bytes that do not follow the netlink wire format.
    static func malformed(_ operation: String, _ detail: String) -> NetlinkError {
        NetlinkError(operation: operation, errno: EBADMSG, detail: detail)
    }
}
