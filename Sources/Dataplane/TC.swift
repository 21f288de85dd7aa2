import CLibbpf
import CRouteletABI
#if canImport(Glibc)
import Glibc
#endif

/// routelet's TC ingress filter on interfaces of the calling thread's
/// network namespace (libbpf's netlink cls_bpf: the filter stays attached
/// after the process exits).
public enum TC {
    static func hook(_ ifindex: UInt32) -> bpf_tc_hook {
        var hook = bpf_tc_hook()
        hook.sz = libbpfOptionsSize(\bpf_tc_hook.parent)
        hook.ifindex = Int32(ifindex)
        hook.attach_point = BPF_TC_INGRESS
        return hook
    }

    static func options(programFD: Int32 = 0, flags: UInt32 = 0) -> bpf_tc_opts {
        var opts = bpf_tc_opts()
        opts.sz = libbpfOptionsSize(\bpf_tc_opts.priority)
        opts.handle = UInt32(RL_TC_HANDLE)
        opts.priority = UInt32(RL_TC_PRIORITY)
        opts.prog_fd = programFD
        opts.flags = flags
        return opts
    }

    /// routelet's filter on `ifindex`, or nil when there is none.
    public static func query(ifindex: UInt32) throws(BPFError) -> TCAttachment? {
        LibbpfLog.install()
        var hook = hook(ifindex)
        var opts = options()
        let result = bpf_tc_query(&hook, &opts)
        // No clsact qdisc (EINVAL) or no filter at our handle (ENOENT).
        if result == -ENOENT || result == -EINVAL { return nil }
        try bpfCall("bpf_tc_query", Interfaces.describe(ifindex)) { result }
        // Details need the program opened by id, which takes CAP_SYS_ADMIN;
        // without it, the id alone identifies the program (see Dataplane).
        let info = try? ProgramInfo(id: opts.prog_id)
        return TCAttachment(ifindex: ifindex, programID: opts.prog_id,
                            program: info.map { .init(name: $0.name, tag: $0.tag, mapIDs: $0.mapIDs) })
    }

    /// Attaches `programFD`, or atomically replaces the program of an
    /// existing filter at the same handle and priority.
    public static func attach(ifindex: UInt32, programFD: Int32, replace: Bool) throws(BPFError) {
        var hook = hook(ifindex)
        let created = bpf_tc_hook_create(&hook)
        if created != -EEXIST { try bpfCall("bpf_tc_hook_create (clsact)", Interfaces.describe(ifindex)) { created } }
        var opts = options(programFD: programFD, flags: replace ? UInt32(BPF_TC_F_REPLACE.rawValue) : 0)
        try bpfCall("bpf_tc_attach", Interfaces.describe(ifindex)) { bpf_tc_attach(&hook, &opts) }
    }

    /// Removes routelet's filter; returns false when there was none. The
    /// clsact qdisc stays: other programs may use it.
    @discardableResult
    public static func detach(ifindex: UInt32) throws(BPFError) -> Bool {
        var hook = hook(ifindex)
        var opts = options()
        let result = bpf_tc_detach(&hook, &opts)
        if result == -ENOENT || result == -EINVAL { return false }
        try bpfCall("bpf_tc_detach", Interfaces.describe(ifindex)) { result }
        return true
    }
}

/// What the kernel says about a loaded program.
struct ProgramInfo {
    var id: UInt32
    var name: String
    var tag: String
    var mapIDs: Set<UInt32>

    init(id: UInt32) throws(BPFError) {
        let fd = bpf_prog_get_fd_by_id(id)
        guard fd >= 0 else { throw BPFError(operation: "bpf_prog_get_fd_by_id", object: "program id \(id)", errno: errno) }
        defer { close(fd) }
        try self.init(fd: fd, what: "program id \(id)")
    }

    init(fd: Int32, what: String) throws(BPFError) {
        var mapIDs = [UInt32](repeating: 0, count: 64)
        var info = bpf_prog_info()
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        let result = mapIDs.withUnsafeMutableBufferPointer { buffer in
            info.nr_map_ids = UInt32(buffer.count)
            info.map_ids = UInt64(UInt(bitPattern: buffer.baseAddress))
            return bpf_obj_get_info_by_fd(fd, &info, &length)
        }
        try bpfCall("bpf_obj_get_info_by_fd", what) { result }
        id = info.id
        name = withUnsafeBytes(of: info.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        tag = withUnsafeBytes(of: info.tag) { $0.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }
        self.mapIDs = Set(mapIDs.prefix(Int(min(info.nr_map_ids, 64))))
    }
}

/// The id the kernel gave a map.
func mapID(fd: Int32, what: String) throws(BPFError) -> UInt32 {
    var info = bpf_map_info()
    var length = UInt32(MemoryLayout<bpf_map_info>.size)
    try bpfCall("bpf_obj_get_info_by_fd", what) { bpf_obj_get_info_by_fd(fd, &info, &length) }
    return info.id
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
