import CLibbpf
import CRouteletABI
import Foundation

/// The loaded router program and its maps, pinned under a bpffs directory.
/// Releasing it closes this process's descriptors only; pins and attached
/// filters stay.
///
/// Opening reuses the maps an earlier process pinned there (same ABI
/// version), so routes, groups and counters survive restarts; only missing
/// maps are created. The program is pinned there too and reused when its
/// code and maps are this build's, so that a restarted agent finds its own
/// program attached, by id: telling what an arbitrary attached program is
/// would need CAP_SYS_ADMIN (opening a program by id), which the agent does
/// not have in a cluster. The program stays attached to interfaces after
/// this object, or the whole process, goes away.
public final class Dataplane {
    public let pinDirectory: String
    public let maps: RouterMaps
    /// The gateway stage's maps (GatewayRoute listeners, backends, conntrack).
    public let gateway: GatewayMaps
    /// True when every map was reused from existing pins.
    public let restored: Bool
    /// The kernel's id of the router program this data plane attaches.
    public let programID: UInt32
    /// Whether the loaded program captures header elements of TCP listeners
    /// (`accessLog.headers`); false with ``HeaderCapture/off`` and on
    /// kernels without the ring buffer (5.8) or `bpf_loop` (5.17).
    public let capturesHeaders: Bool

    /// Which build of the router program to load.
    public enum HeaderCapture: String, Sendable, CaseIterable {
        /// The program with header capture when the kernel can run it, the
        /// one without otherwise.
        case auto
        /// The program without header capture, whatever the kernel.
        case off
    }

    /// Whether this kernel has what header capture needs: the ring buffer
    /// map (5.8) and the `bpf_loop` helper in TC programs (5.17). Probed
    /// once per process (each probe loads a map or a program).
    public static let kernelCanCaptureHeaders =
        libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nil) == 1
            && libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_loop, nil) == 1

    /// Whether the build `mode` picks captures header elements here: what
    /// ``capturesHeaders`` will be, known before loading.
    public static func capturesHeaders(_ mode: HeaderCapture) -> Bool {
        mode == .auto && kernelCanCaptureHeaders
    }

    /// Why a data plane does not capture header elements, for errors and reports.
    static let withoutCaptureReason = "the router program without header capture: a kernel without the ring buffer or bpf_loop, or --header-capture off"

    /// The router program's pin, beside the maps'.
    public static let programPin = "prog_rl_router"

    /// Every fixed pin routelet makes in its directory: the maps and the
    /// program. Maglev tables add `GatewayMaps.maglevPinPrefix` + listener id,
    /// compiled lookups `CompiledLookupMap.pinPrefix` + table id.
    public static let pinNames = mapNames(capturingHeaders: true) + [programPin]

    /// Every map the program declares; the build without header capture
    /// has no ring.
    static func mapNames(capturingHeaders: Bool) -> [String] {
        RouterMaps.names + GatewayMaps.names + (capturingHeaders ? [GatewayMaps.captureRingName] : [])
    }

    /// The names of every pin now in `directory` that routelet made: the
    /// fixed ones, the Maglev tables and the compiled lookups.
    public static func pins(in directory: String) -> [String] {
        let tables = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix(GatewayMaps.maglevPinPrefix) || $0.hasPrefix(CompiledLookupMap.pinPrefix) }.sorted()
        return pinNames + tables
    }

    /// Unlinks every pin routelet made in `directory`, then the directory
    /// when it is empty; for tests and benchmarks (``Cleanup`` also detaches).
    public static func removePins(in directory: String) {
        for name in pins(in: directory) { unlink("\(directory)/\(name)") }
        rmdir(directory)
    }

    private let object: BPFObject
    private let programFD: Int32
    /// The pinned program, when reused (this object then holds its descriptor).
    private let reusedProgramFD: Int32?

    /// Loads the router program embedded in this binary and opens (or
    /// creates) its pinned maps under `pinDirectory`, mounting a bpffs there
    /// when there is none. `headerCapture` picks the build: with header
    /// capture when the kernel can run it (`.auto`), or without.
    public init(pinDirectory: String = BPFFS.defaultDirectory, headerCapture: HeaderCapture = .auto) throws(BPFError) {
        try BPFFS.prepare(pinDirectory)
        capturesHeaders = Self.capturesHeaders(headerCapture)
        let mapNames = Self.mapNames(capturingHeaders: capturesHeaders)
        let existing = mapNames.filter { FileManager.default.fileExists(atPath: "\(pinDirectory)/\($0)") }
        if existing.contains("rl_meta") {
            // Refuse maps of another ABI before libbpf reuses any of them.
            _ = try RouterMaps.openPinned(directory: pinDirectory)
        }

        let object = try BPFObject(
            base64: capturesHeaders ? BPFObjects.router : BPFObjects.router_nocapture, name: "routelet", pinRoot: pinDirectory)
        self.object = object
        if !capturesHeaders {
            // An earlier build's ring has no writer now: readers are to find none.
            unlink("\(pinDirectory)/\(GatewayMaps.captureRingName)")
        }

        var descriptors: [String: FileDescriptor] = [:]
        for name in mapNames { descriptors[name] = try object.mapFD(name) }
        maps = try RouterMaps(descriptors: descriptors)
        gateway = try GatewayMaps(descriptors: descriptors, pinDirectory: pinDirectory, writes: maps.writes)
        try maps.recordABIVersion()
        let loadedFD = try object.programFD("rl_router")
        let loaded = try ProgramInfo(fd: loadedFD, what: "program rl_router")
        let pin = "\(pinDirectory)/\(Self.programPin)"
        if let pinned = Self.reusablePin(pin, like: loaded) {
            programFD = pinned.fd
            reusedProgramFD = pinned.fd
            programID = pinned.id
        } else {
            unlink(pin)
            try bpfCall("bpf_obj_pin", pin) { bpf_obj_pin(loadedFD, pin) }
            programFD = loadedFD
            reusedProgramFD = nil
            programID = loaded.id
        }
        self.pinDirectory = pinDirectory
        restored = existing.count == mapNames.count
    }

    deinit {
        if let reusedProgramFD { close(reusedProgramFD) }
    }

    /// The program pinned at `path` when it is the same code over the same
    /// maps as `loaded` (a restart of the same build); nil otherwise.
    private static func reusablePin(_ path: String, like loaded: ProgramInfo) -> (fd: Int32, id: UInt32)? {
        let fd = bpf_obj_get(path)
        guard fd >= 0 else { return nil }
        guard let pinned = try? ProgramInfo(fd: fd, what: path), pinned.name == loaded.name, pinned.tag == loaded.tag,
              pinned.mapIDs == loaded.mapIDs else {
            close(fd)
            return nil
        }
        return (fd, pinned.id)
    }

    /// What ``attach(ifindex:)`` did.
    public enum AttachOutcome: Sendable, Equatable {
        case attached, replaced, unchanged
    }

    /// Makes sure this program is routelet's filter on `ifindex` (in the
    /// calling thread's network namespace). An attached program with the same
    /// code and the same maps is left alone; another one is replaced
    /// atomically, so no packet passes unfiltered.
    @discardableResult
    public func attach(ifindex: UInt32) throws(BPFError) -> AttachOutcome {
        let current = try TC.query(ifindex: ifindex)
        if let current, isCurrent(current) { return .unchanged }
        try TC.attach(ifindex: ifindex, programFD: programFD, replace: current != nil)
        return current == nil ? .attached : .replaced
    }

    /// Whether an attached filter runs this very program (over these maps).
    public func isCurrent(_ attachment: TCAttachment) -> Bool {
        attachment.programID == programID
    }

    @discardableResult
    public func detach(ifindex: UInt32) throws(BPFError) -> Bool {
        try TC.detach(ifindex: ifindex)
    }

    /// Runs the router program on one packet with BPF_PROG_TEST_RUN.
    public func testRun(packet: [UInt8], ingressIfindex: UInt32, repeat count: Int = 1) throws(BPFError) -> TestRunResult {
        try TestRun.run(programFD: programFD, packet: packet, ingressIfindex: ingressIfindex, repeat: count)
    }
}

/// The ABI version this binary's programs and maps were built with.
public enum DataplaneABI {
    public static let version = Int(RL_ABI_VERSION)
}
