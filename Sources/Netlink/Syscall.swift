#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs a syscall wrapper until it does not fail with EINTR. Returns the
/// result and the errno read right after the failing call (0 on success).
func retryingEINTR<T: SignedInteger>(_ call: () -> T) -> (result: T, errno: Int32) {
    while true {
        let result = call()
        if result >= 0 { return (result, 0) }
        let error = errno
        if error != EINTR { return (result, error) }
    }
}

/// As ``retryingEINTR(_:)``, throwing a ``NetlinkError`` for `operation` on failure.
func checkedSyscall<T: SignedInteger>(_ operation: String, _ call: () -> T) throws(NetlinkError) -> T {
    let (result, error) = retryingEINTR(call)
    guard error == 0 else { throw NetlinkError(operation: operation, errno: error) }
    return result
}
