import CLibbpf
#if canImport(Glibc)
import Glibc
#endif

/// Where libbpf's own messages go: warnings to stderr prefixed "libbpf:",
/// debug chatter dropped, and the one message that routelet's probing
/// provokes on purpose (querying an interface with no clsact qdisc) dropped.
enum LibbpfLog {
    /// Installs the filter once per process.
    static func install() {
        _ = installed
    }

    private static let installed: Bool = {
        _ = libbpf_set_print { level, format, arguments in
            guard level != LIBBPF_DEBUG, let format, let arguments else { return 0 }
            var buffer = [CChar](repeating: 0, count: 1024)
            let length = vsnprintf(&buffer, buffer.count, format, arguments)
            guard length > 0 else { return 0 }
            let message = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if message.contains("Parent Qdisc doesn't exists") { return 0 }
            let line = message.hasPrefix("libbpf:") ? message : "libbpf: \(message)"
            let bytes = Array((line.hasSuffix("\n") ? line : line + "\n").utf8)
            _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
            return length
        }
        return true
    }()
}
