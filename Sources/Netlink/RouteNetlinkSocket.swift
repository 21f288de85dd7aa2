#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A NETLINK_ROUTE socket for request/reply dumps of links and addresses,
/// and for reading and writing policy rules and routes, in the network
/// namespace where it was created (whichever thread uses it later). Not
/// subscribed to any multicast group; see ``LinkMonitor`` for
/// notifications. Use it from one task at a time: it keeps a sequence
/// counter and a receive buffer.
public final class RouteNetlinkSocket {
    /// How often a dump is redone when the kernel flags NLM_F_DUMP_INTR
    /// (the set changed while being dumped) before giving up with EAGAIN.
    public static let maximumDumpAttempts = 8
    /// The time a dump waits for each reply datagram before ETIMEDOUT.
    public static let replyTimeoutMilliseconds: Int32 = 5_000

    let fd: Int32
    /// The port id the kernel assigned at bind; replies must carry it.
    public let portID: UInt32
    var nextSequence: UInt32
    // 32 KiB is the largest dump datagram the kernel builds for a large
    // enough reader; receive() grows it should one be bigger.
    var buffer = [UInt8](repeating: 0, count: 32 * 1024)
    /// NETLINK_GET_STRICT_CHK is on: dumps filter as their request asks.
    var strictChecking = false

    /// Opens the socket in the calling thread's network namespace.
    public init() throws(NetlinkError) {
        (fd, portID) = try NetlinkDescriptor.open(groups: 0)
        nextSequence = UInt32.random(in: 1...UInt32.max / 2)
    }

    deinit {
        close(fd)
    }

    /// Every link (RTM_GETLINK dump), in kernel order.
    public func dumpLinks() throws(NetlinkError) -> [LinkInfo] {
        // struct ifinfomsg, all zero: AF_UNSPEC, no filter.
        let messages = try dump(type: NetlinkWire.getLink, header: [UInt8](repeating: 0, count: NetlinkWire.ifinfomsgSize),
                                operation: "RTM_GETLINK dump")
        var links: [LinkInfo] = []
        for message in messages {
            if let link = try NetlinkParser.link(from: message) { links.append(link) }
        }
        return links
    }

    /// Every IPv4 and IPv6 address (RTM_GETADDR dump with AF_UNSPEC).
    public func dumpAddresses() throws(NetlinkError) -> [AddressInfo] {
        let messages = try dump(type: NetlinkWire.getAddress, header: [UInt8](repeating: 0, count: NetlinkWire.ifaddrmsgSize),
                                operation: "RTM_GETADDR dump")
        var addresses: [AddressInfo] = []
        for message in messages {
            if let address = try NetlinkParser.address(from: message) { addresses.append(address) }
        }
        return addresses
    }

    /// Sends a dump request and reads replies until NLMSG_DONE, redoing the
    /// whole dump when it was interrupted or a notification overflowed the
    /// socket (ENOBUFS), since either leaves the result incomplete.
    func dump(type: UInt16, header: [UInt8], operation: String) throws(NetlinkError) -> [NetlinkMessage] {
        var lastProblem = ""
        for _ in 0..<Self.maximumDumpAttempts {
            let sequence = takeSequence()
            let request = NetlinkMessage(type: type, flags: NetlinkWire.request | NetlinkWire.dump,
                                         sequence: sequence, portID: portID, payload: header)
            try NetlinkDescriptor.send(fd, request.encoded, operation: operation)
            var assembler = DumpReplyAssembler(sequence: sequence, portID: portID, operation: operation)
            var progress = DumpReplyAssembler.Progress.needMore
            do {
                while progress == .needMore {
                    try NetlinkDescriptor.waitReadable(fd, timeoutMilliseconds: Self.replyTimeoutMilliseconds, operation: operation)
                    let (bytes, sender) = try NetlinkDescriptor.receive(fd, buffer: &buffer, operation: operation)
                    guard sender == 0 else { continue } // only the kernel answers dumps
                    progress = try assembler.consume(NetlinkParser.messages(in: bytes))
                }
            } catch where error.errno == ENOBUFS {
                lastProblem = "receive queue overflowed (ENOBUFS)"
                continue
            }
            if progress == .complete { return assembler.messages }
            lastProblem = "interrupted by concurrent changes (NLM_F_DUMP_INTR)"
        }
        throw NetlinkError(operation: operation, errno: EAGAIN,
                           detail: "\(lastProblem) on all \(Self.maximumDumpAttempts) attempts")
    }

    /// The next request's sequence number.
    func takeSequence() -> UInt32 {
        let sequence = nextSequence
        nextSequence = nextSequence == UInt32.max ? 1 : nextSequence + 1
        return sequence
    }

    /// Sends one request with NLM_F_ACK and waits for its acknowledgement;
    /// the kernel's error throws, with its errno.
    func request(type: UInt16, flags: UInt16, payload: [UInt8], operation: String) throws(NetlinkError) {
        let sequence = takeSequence()
        let message = NetlinkMessage(type: type, flags: NetlinkWire.request | NetlinkWire.acknowledge | flags,
                                     sequence: sequence, portID: portID, payload: payload)
        try NetlinkDescriptor.send(fd, message.encoded, operation: operation)
        while true {
            try NetlinkDescriptor.waitReadable(fd, timeoutMilliseconds: Self.replyTimeoutMilliseconds, operation: operation)
            let (bytes, sender) = try NetlinkDescriptor.receive(fd, buffer: &buffer, operation: operation)
            guard sender == 0 else { continue }
            for reply in try NetlinkParser.messages(in: bytes) where reply.sequence == sequence && reply.portID == portID {
                if try NetlinkParser.classify(reply, operation: operation) == .acknowledgement { return }
            }
        }
    }

    /// Turns on NETLINK_GET_STRICT_CHK, so that a dump's header and
    /// attributes filter it (a route dump of one table, not every route).
    func enableStrictChecking() throws(NetlinkError) {
        guard !strictChecking else { return }
        var one: Int32 = 1
        _ = try checkedSyscall("setsockopt(NETLINK_GET_STRICT_CHK)") {
            setsockopt(fd, NetlinkWire.solNetlink, NetlinkWire.getStrictCheck, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        strictChecking = true
    }
}
