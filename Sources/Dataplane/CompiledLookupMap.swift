import CLibbpf
import DataplaneModel
#if canImport(Glibc)
import Glibc
#endif

/// One table's compiled IPv4 lookup in the kernel: a `BPF_F_MMAPABLE` array
/// of 1 KiB rows in ``CompiledLookupV4/Layout``, pinned as
/// `rl_lookup_v4_<table id>` beside the other pins, and written through its
/// mmap (no syscall per entry). ``table`` is the model working in place on
/// that memory; the mapping lives as long as this object.
public final class CompiledLookupMap {
    /// The pins of compiled tables start with this, followed by the table id.
    public static let pinPrefix = "rl_lookup_v4_"
    static let rowBytes = CompiledLookupV4.Layout.rowWords * 4

    public let fd: FileDescriptor
    public let table: CompiledLookupV4
    public let pinPath: String
    private let memory: UnsafeMutableRawPointer
    private let length: Int

    public static func pinPath(tableID: UInt32, pinDirectory: String) -> String {
        "\(pinDirectory)/\(pinPrefix)\(tableID)"
    }

    /// A new, empty array for `tableID`, not pinned yet (``pin()``).
    public init(tableID: UInt32, layout: CompiledLookupV4.Layout, pinDirectory: String) throws(BPFError) {
        let what = "compiled lookup of table \(tableID)"
        var opts = bpf_map_create_opts()
        opts.sz = libbpfOptionsSize(\bpf_map_create_opts.map_ifindex)
        opts.map_flags = UInt32(BPF_F_INNER_MAP | BPF_F_MMAPABLE)
        let created = bpf_map_create(BPF_MAP_TYPE_ARRAY, "rl_lookup_v4", 4, UInt32(Self.rowBytes), UInt32(layout.rows), &opts)
        try bpfCall("bpf_map_create", what) { created }
        fd = FileDescriptor(owning: created)
        (memory, length) = try Self.map(fd.rawValue, rows: layout.rows, what: what)
        table = CompiledLookupV4(formatting: memory.assumingMemoryBound(to: UInt32.self), layout: layout, tableID: tableID)
        pinPath = Self.pinPath(tableID: tableID, pinDirectory: pinDirectory)
    }

    /// The array pinned for `tableID` by an earlier process, adopted as it
    /// is (``CompiledLookupV4/init(adopting:layout:now:)``); nil when there
    /// is no pin, or when what is pinned is not a table this build can
    /// adopt (then the caller builds a new one).
    public static func openPinned(tableID: UInt32, pinDirectory: String) throws(BPFError) -> CompiledLookupMap? {
        let path = pinPath(tableID: tableID, pinDirectory: pinDirectory)
        let raw = bpf_obj_get(path)
        guard raw >= 0 else { return nil }
        let fd = FileDescriptor(owning: raw)
        var info = bpf_map_info()
        var size = UInt32(MemoryLayout<bpf_map_info>.size)
        try bpfCall("bpf_obj_get_info_by_fd", path) { bpf_obj_get_info_by_fd(fd.rawValue, &info, &size) }
        typealias Layout = CompiledLookupV4.Layout
        guard info.type == BPF_MAP_TYPE_ARRAY.rawValue, info.value_size == UInt32(rowBytes),
              info.map_flags & UInt32(BPF_F_MMAPABLE) != 0, Int(info.max_entries) > Layout.headerRow else { return nil }
        let (memory, length) = try map(fd.rawValue, rows: Int(info.max_entries), what: path)
        let header = memory.assumingMemoryBound(to: UInt32.self) + Layout.headerRow * Layout.rowWords
        let slots = Int(header[3]), chunks = Int(header[4])
        guard slots >= Layout.recordsPerRow, slots % Layout.recordsPerRow == 0, chunks >= 1,
              Layout(slotCapacity: slots, chunkCapacity: chunks).rows == Int(info.max_entries),
              let table = CompiledLookupV4(adopting: memory.assumingMemoryBound(to: UInt32.self),
                                           layout: Layout(slotCapacity: slots, chunkCapacity: chunks)),
              table.tableID == tableID else {
            munmap(memory, length)
            return nil
        }
        return CompiledLookupMap(fd: fd, table: table, pinPath: path, memory: memory, length: length)
    }

    private init(fd: FileDescriptor, table: CompiledLookupV4, pinPath: String, memory: UnsafeMutableRawPointer, length: Int) {
        self.fd = fd
        self.table = table
        self.pinPath = pinPath
        self.memory = memory
        self.length = length
    }

    deinit {
        munmap(memory, length)
    }

    /// Pins this array at ``pinPath``, replacing what was pinned there.
    public func pin() throws(BPFError) {
        unlink(pinPath)
        try bpfCall("bpf_obj_pin", pinPath) { bpf_obj_pin(fd.rawValue, pinPath) }
    }

    /// The kernel's size of the array: what the table costs in memory.
    public var bytes: Int { table.layout.bytes }

    private static func map(_ fd: Int32, rows: Int, what: String) throws(BPFError) -> (UnsafeMutableRawPointer, Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let length = (rows * rowBytes + page - 1) / page * page
        guard let memory = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), memory != MAP_FAILED else {
            throw BPFError(operation: "mmap", object: what, errno: errno)
        }
        return (memory, length)
    }
}
