import CLibbpf
import Foundation

/// A BPF ELF object opened from memory and loaded into the kernel, closed
/// when released (pinned maps and attached programs stay).
public final class BPFObject {
    let pointer: OpaquePointer
    public let name: String

    /// Opens and loads `image` (an ELF object). Maps declared with
    /// LIBBPF_PIN_BY_NAME are reused from, or pinned to, `pinRoot`.
    public init(image: Data, name: String, pinRoot: String? = nil) throws(BPFError) {
        LibbpfLog.install()
        var openErrno: Int32 = 0
        let opened: OpaquePointer? = image.withUnsafeBytes { raw in
            name.withCString { objectName in
                withOptionalCString(pinRoot) { pinRoot in
                    var opts = bpf_object_open_opts()
                    opts.sz = libbpfOptionsSize(\bpf_object_open_opts.kernel_log_level)
                    opts.object_name = objectName
                    opts.pin_root_path = pinRoot
                    let object = bpf_object__open_mem(raw.baseAddress, raw.count, &opts)
                    openErrno = errno
                    return object
                }
            }
        }
        guard let object = opened else {
            throw BPFError(operation: "bpf_object__open_mem", object: "BPF object \(name)", errno: openErrno)
        }
        let loaded = bpf_object__load(object)
        if loaded != 0 {
            bpf_object__close(object)
            throw BPFError(operation: "bpf_object__load", object: "BPF object \(name)\(pinRoot.map { " (pins in \($0))" } ?? "")", errno: -loaded,
                           hint: "libbpf printed the details above (verifier log, or a pinned map that does not match)")
        }
        pointer = object
        self.name = name
    }

    /// Decodes a base64 image embedded by the BPF build plugin.
    public convenience init(base64 image: String, name: String, pinRoot: String? = nil) throws(BPFError) {
        guard let data = Data(base64Encoded: image) else {
            throw BPFError(operation: "decode embedded BPF object", object: name, errno: 0)
        }
        try self.init(image: data, name: name, pinRoot: pinRoot)
    }

    deinit { bpf_object__close(pointer) }

    /// The descriptor of a loaded program (owned by this object).
    public func programFD(_ program: String) throws(BPFError) -> Int32 {
        guard let handle = bpf_object__find_program_by_name(pointer, program) else {
            throw BPFError(operation: "bpf_object__find_program_by_name", object: "program \(program) in \(name)", errno: ENOENT)
        }
        return bpf_program__fd(handle)
    }

    /// A duplicate of a map's descriptor, owned by the caller.
    public func mapFD(_ map: String) throws(BPFError) -> FileDescriptor {
        guard let handle = bpf_object__find_map_by_name(pointer, map) else {
            throw BPFError(operation: "bpf_object__find_map_by_name", object: "map \(map) in \(name)", errno: ENOENT)
        }
        return try FileDescriptor.duplicate(bpf_map__fd(handle), what: "map \(map)")
    }
}

private func withOptionalCString<T>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
