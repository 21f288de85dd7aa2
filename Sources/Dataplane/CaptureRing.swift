import CLibbpf
import CRouteletABI
import DataplaneModel
import NetAddress
#if canImport(Glibc)
import Glibc
#endif

/// The reading end of `rl_capture_ring`: header-capture records, one per
/// flow's first request, as the program wrote them. One reader at a time;
/// `poll` blocks its thread for at most the timeout.
public final class CaptureRing {
    private let ring: OpaquePointer
    /// What `poll` hands each record to, set for the duration of a poll;
    /// the C callback's context.
    private let box: Unmanaged<Handler>

    init(fd: Int32) throws(BPFError) {
        var made: OpaquePointer?
        let box = Unmanaged<Handler>.passRetained(Handler())
        made = ring_buffer__new(fd, { context, data, size in
            guard let context, let data, size >= MemoryLayout<rl_capture_record>.size else { return 0 }
            let handler = Unmanaged<Handler>.fromOpaque(context).takeUnretainedValue()
            handler.body?(CaptureRecord(data.loadUnaligned(as: rl_capture_record.self)))
            return 0
        }, box.toOpaque(), nil)
        guard let made else {
            box.release()
            throw BPFError(operation: "ring_buffer__new", object: "map rl_capture_ring", errno: errno)
        }
        ring = made
        self.box = box
    }

    private final class Handler {
        var body: ((CaptureRecord) -> Void)?
    }

    deinit {
        ring_buffer__free(ring)
        box.release()
    }

    /// Waits up to `timeoutMilliseconds` for a wake-up, then hands every
    /// record in the ring to `body`; returns how many there were. The
    /// program wakes the reader only when the ring fills past a quarter, so
    /// the records below that are read here, after the wait, not by
    /// `ring_buffer__poll` (which reads only rings that woke it).
    @discardableResult
    public func poll(timeoutMilliseconds: Int32, _ body: @escaping (CaptureRecord) -> Void) throws(BPFError) -> Int {
        box.takeUnretainedValue().body = body
        defer { box.takeUnretainedValue().body = nil }
        let woken = ring_buffer__poll(ring, timeoutMilliseconds)
        if woken < 0, woken != -EINTR {
            throw BPFError(operation: "ring_buffer__poll", object: "map rl_capture_ring", errno: -woken)
        }
        let rest = ring_buffer__consume(ring)
        if rest < 0 {
            throw BPFError(operation: "ring_buffer__consume", object: "map rl_capture_ring", errno: -rest)
        }
        return Int(max(woken, 0)) + Int(rest)
    }
}

extension CaptureRecord {
    init(_ raw: rl_capture_record) {
        var raw = raw
        let bytes = { (pointer: UnsafeRawBufferPointer, count: Int) in Array(pointer.prefix(count)) }
        let address = withUnsafeBytes(of: raw.client_addr) { Array($0) }
        let client = Int32(raw.family) == RL_AF_INET ? IPAddress(bytes: address.prefix(4)) : IPAddress(bytes: address)
        let method = withUnsafeBytes(of: &raw.method) { bytes($0, min(Int(raw.method_len), Int(RL_CAPTURE_METHOD_LEN))) }
        let path = withUnsafeBytes(of: &raw.path) { bytes($0, min(Int(raw.path_len), Int(RL_CAPTURE_PATH_LEN))) }
        let lengths = withUnsafeBytes(of: raw.value_len) { Array($0) }
        var values: [CaptureRecord.Value] = []
        withUnsafeBytes(of: &raw.value) { all in
            for index in 0..<Int(RL_CAPTURE_HEADERS) where raw.present & (1 << index) != 0 {
                let start = index * Int(RL_CAPTURE_VALUE_LEN)
                let length = min(Int(lengths[index]), Int(RL_CAPTURE_VALUE_LEN))
                values.append(.init(index: index, bytes: Array(all[start..<start + length]), isCut: raw.cut & (1 << index) != 0))
            }
        }
        self.init(monotonicNanoseconds: raw.time_ns, listenerID: raw.listener_id, backendID: raw.backend_id,
                  namesDigest: raw.names_digest, client: client, clientPort: raw.client_port, method: method,
                  path: path, version: raw.version, isPathCut: raw.flags & UInt8(RL_CAPTURE_PATH_CUT) != 0,
                  isHeaderSectionCut: raw.flags & UInt8(RL_CAPTURE_HEADERS_CUT) != 0, values: values)
    }
}
