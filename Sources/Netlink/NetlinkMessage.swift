/// One netlink message: the nlmsghdr fields and the bytes that follow the header.
public struct NetlinkMessage: Hashable, Sendable {
    /// nlmsg_type: a control type (NLMSG_*) or a family type such as RTM_NEWLINK.
    public var type: UInt16
    /// nlmsg_flags (NLM_F_*).
    public var flags: UInt16
    /// nlmsg_seq, echoed by the kernel from the request.
    public var sequence: UInt32
    /// nlmsg_pid: the port id of the socket that sent the request.
    public var portID: UInt32
    /// The bytes after the 16-byte header, up to nlmsg_len.
    public var payload: [UInt8]

    public init(type: UInt16, flags: UInt16 = 0, sequence: UInt32 = 0, portID: UInt32 = 0, payload: [UInt8] = []) {
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
        self.payload = payload
    }

    /// What a message means to a reader that is waiting for a reply.
    public enum Kind: Hashable, Sendable {
        /// A family message (RTM_*) carrying data.
        case data
        /// NLMSG_DONE: the last message of a dump.
        case done
        /// NLMSG_ERROR with error 0: the request succeeded.
        case acknowledgement
        /// NLMSG_NOOP or another reserved control type: nothing to do.
        case ignorable
    }

    /// The message as bytes: header with nlmsg_len filled in, then the payload.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(NetlinkWire.headerSize + payload.count)
        bytes.appendNative(UInt32(truncatingIfNeeded: NetlinkWire.headerSize + payload.count))
        bytes.appendNative(type)
        bytes.appendNative(flags)
        bytes.appendNative(sequence)
        bytes.appendNative(portID)
        bytes.append(contentsOf: payload)
        return bytes
    }
}

/// One route attribute (struct rtattr / nlattr).
public struct NetlinkAttribute: Hashable, Sendable {
    /// rta_type with the NLA_F_NESTED and NLA_F_NET_BYTEORDER bits cleared.
    public var type: UInt16
    /// The rta_len - 4 value bytes, without alignment padding.
    public var value: [UInt8]

    public init(type: UInt16, value: [UInt8]) {
        self.type = type
        self.value = value
    }

    /// The attribute as bytes, padded to a 4-byte boundary.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendNative(UInt16(truncatingIfNeeded: NetlinkWire.attributeHeaderSize + value.count))
        bytes.appendNative(type)
        bytes.append(contentsOf: value)
        bytes.append(contentsOf: [UInt8](repeating: 0, count: NetlinkWire.align(bytes.count) - bytes.count))
        return bytes
    }
}
