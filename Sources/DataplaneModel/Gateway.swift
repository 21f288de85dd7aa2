import NetAddress

/// A transport protocol the gateway stage load balances.
public enum L4Protocol: UInt8, Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    case tcp = 6
    case udp = 17

    public var description: String { self == .tcp ? "TCP" : "UDP" }

    public static func < (lhs: L4Protocol, rhs: L4Protocol) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Where a listener lives in `rl_listeners`: its address, port and protocol.
public struct ListenerKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16
    public var proto: L4Protocol

    public init(address: IPAddress, port: UInt16, proto: L4Protocol) {
        self.address = address
        self.port = port
        self.proto = proto
    }

    public var description: String {
        address.family == .v6 ? "[\(address)]:\(port)/\(proto)" : "\(address):\(port)/\(proto)"
    }

    public static func < (lhs: ListenerKey, rhs: ListenerKey) -> Bool {
        (lhs.address, lhs.port, lhs.proto) < (rhs.address, rhs.port, rhs.proto)
    }
}

/// The value of one listener: its id (the key of its counters and of a
/// load-balanced listener's Maglev table) and what happens to its packets.
public struct ListenerEntry: Hashable, Sendable {
    public var id: UInt32
    /// Rewrite the client's address to the node's toward the backend.
    public var snat: Bool
    /// Slots of its Maglev table (a prime); 0 for a local listener.
    public var maglevSize: UInt32
    /// A flow without packets for this long ends; 0 for a local listener.
    public var idleTimeoutSeconds: UInt32
    /// HTTP/HTTPS (`RL_LISTENER_LOCAL`): not load balanced, but handed to
    /// the local `routelet gateway`'s socket bound to the listener's address.
    public var local: Bool
    /// sourceRanges: its `allow` ranges are consulted (a source in none is
    /// refused) / its `deny` ranges are (a source in one is refused).
    public var allowList: Bool
    public var denyList: Bool
    /// rateLimit of new TCP/UDP flows per client address; nil for none (and
    /// for HTTP/HTTPS, whose requests the gateway limits).
    public var rateLimit: FlowRateLimit?
    /// accessLog.headers of a TCP listener (`RL_LISTENER_CAPTURE`): each
    /// flow's first data segment is read for them, with the names in its
    /// ``CaptureNames``.
    public var capture: Bool

    public init(id: UInt32, snat: Bool, maglevSize: UInt32, idleTimeoutSeconds: UInt32, local: Bool = false,
                allowList: Bool = false, denyList: Bool = false, rateLimit: FlowRateLimit? = nil, capture: Bool = false) {
        self.id = id
        self.snat = snat
        self.maglevSize = maglevSize
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.local = local
        self.allowList = allowList
        self.denyList = denyList
        self.rateLimit = rateLimit
        self.capture = capture
    }

    /// An HTTP/HTTPS listener's entry: handed to the local gateway.
    public static func local(id: UInt32, allowList: Bool = false, denyList: Bool = false) -> ListenerEntry {
        ListenerEntry(id: id, snat: false, maglevSize: 0, idleTimeoutSeconds: 0, local: true, allowList: allowList, denyList: denyList)
    }
}

/// A token bucket per client address: `perSecond` new flows, `burst` at once.
public struct FlowRateLimit: Hashable, Sendable, CustomStringConvertible {
    public var perSecond: UInt32
    public var burst: UInt32

    public init(perSecond: UInt32, burst: UInt32) {
        self.perSecond = perSecond
        self.burst = burst
    }

    public var description: String { "\(perSecond)/s, burst \(burst)" }
}

/// Which of a listener's sourceRanges lists a range belongs to.
public enum SourceList: UInt32, Hashable, Sendable, Comparable, CustomStringConvertible {
    case allow = 1, deny = 2

    public var description: String { self == .allow ? "allow" : "deny" }

    public static func < (lhs: SourceList, rhs: SourceList) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One entry of `rl_sources_v4` / `rl_sources_v6`.
public struct SourceRange: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var listenerID: UInt32
    public var list: SourceList
    public var prefix: IPPrefix

    public init(listenerID: UInt32, list: SourceList, prefix: IPPrefix) {
        self.listenerID = listenerID
        self.list = list
        self.prefix = prefix
    }

    public var description: String { "listener \(listenerID) \(list) \(prefix)" }

    public static func < (lhs: SourceRange, rhs: SourceRange) -> Bool {
        (lhs.listenerID, lhs.list, lhs.prefix) < (rhs.listenerID, rhs.list, rhs.prefix)
    }
}

/// What a listener's sourceRanges and rateLimit refused, summed over CPUs.
public struct Refusals: Hashable, Sendable, Codable {
    /// Packets from sources the ranges refuse.
    public var sourcePackets: UInt64
    /// New flows beyond the rate (TCP/UDP listeners).
    public var rateFlows: UInt64

    public init(sourcePackets: UInt64 = 0, rateFlows: UInt64 = 0) {
        self.sourcePackets = sourcePackets
        self.rateFlows = rateFlows
    }

    public static let zero = Refusals()
}

/// The header names a TCP listener captures (`rl_capture_names`), spelled as
/// the route lists them; matched case-insensitively.
public struct CaptureNames: Hashable, Sendable, CustomStringConvertible {
    public var names: [String]

    /// Header names per listener, and bytes per name, the program takes.
    public static let maxNames = 16
    public static let maxNameBytes = 64

    public init(_ names: [String]) {
        self.names = names
    }

    /// What records carry to say which list captured them: FNV-1a (32 bits)
    /// over the names, each followed by a 0 byte.
    public var digest: UInt32 {
        var hash: UInt32 = 2_166_136_261
        for name in names {
            for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
            hash = hash &* 16_777_619   // the 0 byte after each name
        }
        return hash
    }

    /// The program's hash of one name: FNV-1a (64 bits) of its lowercase bytes.
    public static func hash(_ name: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.lowercased().utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    public var description: String { names.joined(separator: ",") }
}

/// What a listener's header capture did, summed over CPUs.
public struct CaptureCounter: Hashable, Sendable, Codable {
    /// Records written to the ring.
    public var records: UInt64
    /// Records the full ring refused.
    public var lost: UInt64
    /// First segments that were not an HTTP/1.x request line.
    public var unparsed: UInt64

    public init(records: UInt64 = 0, lost: UInt64 = 0, unparsed: UInt64 = 0) {
        self.records = records
        self.lost = lost
        self.unparsed = unparsed
    }

    public static let zero = CaptureCounter()
}

/// One backend endpoint in `rl_backends`: where its flows go, and the
/// node's address that SNATed flows come from toward it.
public struct BackendEntry: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16
    /// The node's address toward the backend; nil when the node has none
    /// of that family (then only preserveClientIP listeners can use it).
    public var snatAddress: IPAddress?

    public init(address: IPAddress, port: UInt16, snatAddress: IPAddress?) {
        self.address = address
        self.port = port
        self.snatAddress = snatAddress
    }

    public var description: String {
        address.family == .v6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    public static func < (lhs: BackendEntry, rhs: BackendEntry) -> Bool {
        if lhs.address != rhs.address { return lhs.address < rhs.address }
        if lhs.port != rhs.port { return lhs.port < rhs.port }
        return (lhs.snatAddress?.description ?? "") < (rhs.snatAddress?.description ?? "")
    }
}

/// A listener's Maglev table as the kernel holds it.
public struct MaglevState: Hashable, Sendable {
    /// The kernel's id of the inner map the outer entry points to.
    public var mapID: UInt32
    /// Slot -> backend id; nil when the table could not be read back (its
    /// pin is missing or names another map), so it must be rewritten.
    public var slots: [UInt32]?

    public init(mapID: UInt32, slots: [UInt32]?) {
        self.mapID = mapID
        self.slots = slots
    }
}

/// Packets, bytes and new flows, summed over CPUs.
public struct FlowCounter: Hashable, Sendable, Codable {
    public var packets: UInt64
    public var bytes: UInt64
    public var flows: UInt64

    public init(packets: UInt64 = 0, bytes: UInt64 = 0, flows: UInt64 = 0) {
        self.packets = packets
        self.bytes = bytes
        self.flows = flows
    }

    public static let zero = FlowCounter()

    public static func + (lhs: FlowCounter, rhs: FlowCounter) -> FlowCounter {
        FlowCounter(packets: lhs.packets &+ rhs.packets, bytes: lhs.bytes &+ rhs.bytes, flows: lhs.flows &+ rhs.flows)
    }
}

/// One conntrack entry, for `routelet dump` and the tests.
public struct ConntrackEntry: Hashable, Sendable {
    public struct Tuple: Hashable, Sendable, CustomStringConvertible {
        public var source: IPAddress
        public var sourcePort: UInt16
        public var destination: IPAddress
        public var destinationPort: UInt16

        public init(source: IPAddress, sourcePort: UInt16, destination: IPAddress, destinationPort: UInt16) {
            self.source = source
            self.sourcePort = sourcePort
            self.destination = destination
            self.destinationPort = destinationPort
        }

        public var description: String { "\(source):\(sourcePort) -> \(destination):\(destinationPort)" }
    }

    public var proto: L4Protocol
    /// The packet as it arrives ...
    public var arriving: Tuple
    /// ... and as it leaves.
    public var leaving: Tuple
    public var listenerID: UInt32
    public var backendID: UInt32
    /// The entry of a backend's replies (not the client's packets).
    public var isReply: Bool
    /// FIN or RST seen: the flow is ending.
    public var isClosing: Bool
    /// Nanoseconds since boot (CLOCK_MONOTONIC) of the last packet.
    public var lastSeenNanoseconds: UInt64
    public var idleTimeoutSeconds: UInt32

    /// Whether the flow still lives at `now` (CLOCK_MONOTONIC nanoseconds,
    /// the program's clock): not closing and not idle past its timeout. A
    /// packet may have arrived after `now` was read: then it lives.
    public func isLive(now: UInt64) -> Bool {
        !isClosing && (lastSeenNanoseconds >= now || now - lastSeenNanoseconds <= UInt64(idleTimeoutSeconds) * 1_000_000_000)
    }

    public init(proto: L4Protocol, arriving: Tuple, leaving: Tuple, listenerID: UInt32, backendID: UInt32, isReply: Bool,
                isClosing: Bool, lastSeenNanoseconds: UInt64, idleTimeoutSeconds: UInt32) {
        self.proto = proto
        self.arriving = arriving
        self.leaving = leaving
        self.listenerID = listenerID
        self.backendID = backendID
        self.isReply = isReply
        self.isClosing = isClosing
        self.lastSeenNanoseconds = lastSeenNanoseconds
        self.idleTimeoutSeconds = idleTimeoutSeconds
    }
}

/// The gateway stage's part of the actual data plane.
public struct GatewayState: Sendable, Equatable {
    public var listeners: [ListenerKey: ListenerEntry] = [:]
    /// backend id -> endpoint.
    public var backends: [UInt32: BackendEntry] = [:]
    /// listener id -> its Maglev table.
    public var maglev: [UInt32: MaglevState] = [:]
    /// Every listener's sourceRanges entries, both families.
    public var sourceRanges: Set<SourceRange> = []
    /// listener id -> refusals (read with the counters).
    public var refusals: [UInt32: Refusals] = [:]
    /// listener id -> the header names it captures (TCP listeners with accessLog.headers).
    public var captureNames: [UInt32: CaptureNames] = [:]
    /// listener id -> what its capture did (read with the counters).
    public var captureCounters: [UInt32: CaptureCounter] = [:]
    /// listener id -> counters (only listeners that exist; read only when asked).
    public var listenerCounters: [UInt32: FlowCounter] = [:]
    /// backend id -> counters (only backends that exist).
    public var backendCounters: [UInt32: FlowCounter] = [:]
    /// Backends that live flows still use (from conntrack): kept in
    /// `rl_backends` after they leave every table, so they drain. nil: not
    /// read (conntrack is read only when a backend is about to be removed).
    public var activeBackendIDs: Set<UInt32>?

    public init() {}
}

/// One record of `rl_capture_ring`: the request line of a flow's first data
/// segment and the values of its listener's header names that it held.
public struct CaptureRecord: Hashable, Sendable {
    public struct Value: Hashable, Sendable {
        /// The header's position in the listener's ``CaptureNames``.
        public var index: Int
        /// The value as sent (surrounding blanks dropped), at most 128 bytes.
        public var bytes: [UInt8]
        /// The value was longer than what was kept.
        public var isCut: Bool

        public init(index: Int, bytes: [UInt8], isCut: Bool) {
            self.index = index
            self.bytes = bytes
            self.isCut = isCut
        }
    }

    /// When the segment arrived: nanoseconds since boot (CLOCK_MONOTONIC).
    public var monotonicNanoseconds: UInt64
    public var listenerID: UInt32
    public var backendID: UInt32
    /// ``CaptureNames/digest`` of the names the program looked for.
    public var namesDigest: UInt32
    public var client: IPAddress?
    public var clientPort: UInt16
    public var method: [UInt8]
    /// The request target, at most 256 bytes.
    public var path: [UInt8]
    /// HTTP/1.x: x.
    public var version: UInt8
    public var isPathCut: Bool
    /// The segment ended before the empty line that ends the headers.
    public var isHeaderSectionCut: Bool
    public var values: [Value]

    public init(monotonicNanoseconds: UInt64, listenerID: UInt32, backendID: UInt32, namesDigest: UInt32, client: IPAddress?,
                clientPort: UInt16, method: [UInt8], path: [UInt8], version: UInt8, isPathCut: Bool, isHeaderSectionCut: Bool,
                values: [Value]) {
        self.monotonicNanoseconds = monotonicNanoseconds
        self.listenerID = listenerID
        self.backendID = backendID
        self.namesDigest = namesDigest
        self.client = client
        self.clientPort = clientPort
        self.method = method
        self.path = path
        self.version = version
        self.isPathCut = isPathCut
        self.isHeaderSectionCut = isHeaderSectionCut
        self.values = values
    }
}
