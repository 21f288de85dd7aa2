import CLibbpf
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How an update treats an existing entry (BPF_ANY, BPF_NOEXIST, BPF_EXIST).
public enum UpdatePolicy: Sendable {
    case any, onlyNew, onlyExisting

    var flags: UInt64 {
        switch self {
        case .any: UInt64(BPF_ANY)
        case .onlyNew: UInt64(BPF_NOEXIST)
        case .onlyExisting: UInt64(BPF_EXIST)
        }
    }
}

/// Counts the writes (updates and deletes) made through a set of maps, so an
/// idle agent can prove it wrote nothing. Shared by every map of one opening.
public final class WriteCounter: Sendable {
    private let count = Atomic<Int>(0)
    public init() {}
    public var value: Int { count.load(ordering: .relaxed) }
    func add() { count.wrappingAdd(1, ordering: .relaxed) }
}

/// A typed view of one BPF map whose key and value are plain C structs from
/// the ABI header (or integers).
public struct BPFMap<Key: BitwiseCopyable, Value: BitwiseCopyable>: Sendable {
    public let name: String
    public let fd: FileDescriptor
    let writes: WriteCounter

    init(name: String, fd: FileDescriptor, writes: WriteCounter) {
        self.name = name
        self.fd = fd
        self.writes = writes
    }

    var object: String { "map \(name)" }

    /// The value for `key`, or nil when there is none.
    public func lookup(_ key: Key) throws(BPFError) -> Value? {
        var key = key
        var value = zeroed(Value.self)
        let result = bpf_map_lookup_elem(fd.rawValue, &key, &value)
        if result == -ENOENT { return nil }
        try bpfCall("bpf_map_lookup_elem", object) { result }
        return value
    }

    public func update(_ key: Key, _ value: Value, _ policy: UpdatePolicy = .any) throws(BPFError) {
        var key = key
        var value = value
        try bpfCall("bpf_map_update_elem", object) { bpf_map_update_elem(fd.rawValue, &key, &value, policy.flags) }
        writes.add()
    }

    /// Removes `key`; returns false when it was not there.
    @discardableResult
    public func delete(_ key: Key) throws(BPFError) -> Bool {
        var key = key
        let result = bpf_map_delete_elem(fd.rawValue, &key)
        if result == -ENOENT { return false }
        try bpfCall("bpf_map_delete_elem", object) { result }
        writes.add()
        return true
    }

    /// Every key, in the kernel's iteration order.
    public func keys() throws(BPFError) -> [Key] {
        var keys: [Key] = []
        var current = zeroed(Key.self)
        var next = zeroed(Key.self)
        var result = bpf_map_get_next_key(fd.rawValue, nil, &next)
        while result == 0 {
            keys.append(next)
            current = next
            result = bpf_map_get_next_key(fd.rawValue, &current, &next)
        }
        if result != -ENOENT { try bpfCall("bpf_map_get_next_key", object) { result } }
        return keys
    }

    /// Every entry. An entry deleted while iterating is skipped.
    public func entries() throws(BPFError) -> [(key: Key, value: Value)] {
        var entries: [(key: Key, value: Value)] = []
        for key in try keys() {
            if let value = try lookup(key) { entries.append((key, value)) }
        }
        return entries
    }
}

/// A typed view of a per-CPU map: one value per possible CPU.
public struct PerCPUMap<Key: BitwiseCopyable, Value: BitwiseCopyable>: Sendable {
    public let name: String
    public let fd: FileDescriptor
    let writes: WriteCounter
    let cpuCount: Int

    init(name: String, fd: FileDescriptor, writes: WriteCounter) throws(BPFError) {
        self.name = name
        self.fd = fd
        self.writes = writes
        let cpus = libbpf_num_possible_cpus()
        guard cpus > 0 else { throw BPFError(operation: "libbpf_num_possible_cpus", object: "this machine", errno: -cpus) }
        self.cpuCount = Int(cpus)
    }

    // The kernel copies per-CPU values with each slot rounded up to 8 bytes.
    private var stride: Int { (MemoryLayout<Value>.size + 7) & ~7 }
    var object: String { "map \(name)" }

    /// The per-CPU values for `key`, or nil when there is none.
    public func lookup(_ key: Key) throws(BPFError) -> [Value]? {
        var key = key
        var buffer = [UInt8](repeating: 0, count: stride * cpuCount)
        let result = buffer.withUnsafeMutableBytes { bpf_map_lookup_elem(fd.rawValue, &key, $0.baseAddress) }
        if result == -ENOENT { return nil }
        try bpfCall("bpf_map_lookup_elem", object) { result }
        return buffer.withUnsafeBytes { raw in
            (0..<cpuCount).map { raw.loadUnaligned(fromByteOffset: $0 * stride, as: Value.self) }
        }
    }

    /// Writes the same value on every CPU.
    public func update(_ key: Key, everyCPU value: Value, _ policy: UpdatePolicy = .any) throws(BPFError) {
        var key = key
        var buffer = [UInt8](repeating: 0, count: stride * cpuCount)
        buffer.withUnsafeMutableBytes { raw in
            for cpu in 0..<cpuCount { raw.storeBytes(of: value, toByteOffset: cpu * stride, as: Value.self) }
        }
        let result = buffer.withUnsafeMutableBytes { bpf_map_update_elem(fd.rawValue, &key, $0.baseAddress, policy.flags) }
        try bpfCall("bpf_map_update_elem", object) { result }
        writes.add()
    }

    @discardableResult
    public func delete(_ key: Key) throws(BPFError) -> Bool {
        try BPFMap<Key, Value>(name: name, fd: fd, writes: writes).delete(key)
    }

    public func keys() throws(BPFError) -> [Key] {
        try BPFMap<Key, Value>(name: name, fd: fd, writes: writes).keys()
    }
}

/// A value of `type` with every byte zero (C structs imported from the ABI).
func zeroed<T: BitwiseCopyable>(_ type: T.Type) -> T {
    withUnsafeTemporaryAllocation(of: T.self, capacity: 1) { buffer in
        let raw = UnsafeMutableRawBufferPointer(buffer)
        raw.initializeMemory(as: UInt8.self, repeating: 0)
        return raw.load(as: T.self)
    }
}
