#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NetAddress

/// Decodes rtnetlink replies and notifications from raw bytes, without a
/// socket. Every length field is checked against the bytes that hold it, so
/// malformed input is reported as a ``NetlinkError`` (errno EBADMSG) and
/// never read out of bounds.
public enum NetlinkParser {
    /// Splits a received datagram into its messages (the NLMSG_NEXT walk).
    /// Control messages are returned as they are; see ``classify(_:operation:)``.
    public static func messages(in buffer: [UInt8]) throws(NetlinkError) -> [NetlinkMessage] {
        let operation = "parse netlink datagram"
        var messages: [NetlinkMessage] = []
        var offset = 0
        while offset < buffer.count {
            let remaining = buffer.count - offset
            guard remaining >= NetlinkWire.headerSize,
                  let length32 = buffer.loadNative(UInt32.self, at: offset),
                  let type = buffer.loadNative(UInt16.self, at: offset + 4),
                  let flags = buffer.loadNative(UInt16.self, at: offset + 6),
                  let sequence = buffer.loadNative(UInt32.self, at: offset + 8),
                  let portID = buffer.loadNative(UInt32.self, at: offset + 12) else {
                throw .malformed(operation, "\(remaining) bytes at offset \(offset) are too few for a nlmsghdr")
            }
            let length = Int(length32)
            guard length >= NetlinkWire.headerSize else {
                throw .malformed(operation, "nlmsg_len \(length) at offset \(offset) is shorter than the header")
            }
            guard length <= remaining else {
                throw .malformed(operation, "nlmsg_len \(length) at offset \(offset) exceeds the \(remaining) bytes left")
            }
            let payload = Array(buffer[(offset + NetlinkWire.headerSize)..<(offset + length)])
            messages.append(NetlinkMessage(type: type, flags: flags, sequence: sequence, portID: portID, payload: payload))
            // The last message may omit its padding.
            offset += min(NetlinkWire.align(length), remaining)
        }
        return messages
    }

    /// Splits attribute bytes (the RTA_NEXT walk), starting at `offset` in `bytes`.
    public static func attributes(in bytes: [UInt8], from offset: Int = 0) throws(NetlinkError) -> [NetlinkAttribute] {
        let operation = "parse route attributes"
        var attributes: [NetlinkAttribute] = []
        var offset = offset
        guard offset >= 0, offset <= bytes.count else {
            throw .malformed(operation, "attributes start at \(offset), past the \(bytes.count) payload bytes")
        }
        while offset < bytes.count {
            let remaining = bytes.count - offset
            guard remaining >= NetlinkWire.attributeHeaderSize,
                  let length16 = bytes.loadNative(UInt16.self, at: offset),
                  let type = bytes.loadNative(UInt16.self, at: offset + 2) else {
                throw .malformed(operation, "\(remaining) bytes at offset \(offset) are too few for an rtattr")
            }
            let length = Int(length16)
            guard length >= NetlinkWire.attributeHeaderSize else {
                throw .malformed(operation, "rta_len \(length) of type \(type) at offset \(offset) is shorter than the header")
            }
            guard length <= remaining else {
                throw .malformed(operation, "rta_len \(length) of type \(type) at offset \(offset) exceeds the \(remaining) bytes left")
            }
            let value = Array(bytes[(offset + NetlinkWire.attributeHeaderSize)..<(offset + length)])
            attributes.append(NetlinkAttribute(type: type & NetlinkWire.attributeTypeMask, value: value))
            offset += min(NetlinkWire.align(length), remaining)
        }
        return attributes
    }

    /// Sorts a message into data, end of dump, acknowledgement or noise.
    /// NLMSG_ERROR with a nonzero code, NLMSG_DONE carrying a negative code
    /// and NLMSG_OVERRUN throw, with the kernel's errno and `operation`.
    public static func classify(_ message: NetlinkMessage, operation: String = "netlink request") throws(NetlinkError) -> NetlinkMessage.Kind {
        switch message.type {
        case NetlinkWire.error:
            // struct nlmsgerr: int error, then the request's header.
            guard let code = message.payload.loadNative(Int32.self, at: 0) else {
                throw .malformed(operation, "NLMSG_ERROR with \(message.payload.count) payload bytes, fewer than 4")
            }
            if code == 0 { return .acknowledgement }
            guard code < 0, code != Int32.min else {
                throw .malformed(operation, "NLMSG_ERROR code \(code) is not a negative errno")
            }
            throw NetlinkError(operation: operation, errno: -code, detail: "kernel answered NLMSG_ERROR")
        case NetlinkWire.done:
            // A dump that failed part-way reports the error in NLMSG_DONE.
            if let code = message.payload.loadNative(Int32.self, at: 0), code < 0 {
                guard code != Int32.min else {
                    throw .malformed(operation, "NLMSG_DONE code \(code) is not a negative errno")
                }
                throw NetlinkError(operation: operation, errno: -code, detail: "dump ended with an error in NLMSG_DONE")
            }
            return .done
        case NetlinkWire.overrun:
            throw NetlinkError(operation: operation, errno: ENOBUFS, detail: "kernel sent NLMSG_OVERRUN")
        case let type where type < NetlinkWire.minimumFamilyType:
            return .ignorable
        default:
            return .data
        }
    }

    /// The link in an RTM_NEWLINK message; nil for any other message type.
    /// Requires a positive ifindex, IFLA_IFNAME (NUL-terminated, at most
    /// IFNAMSIZ bytes, UTF-8) and a 4-byte IFLA_MTU; IFLA_OPERSTATE, when
    /// present, must be 1 byte. Unknown attributes are skipped.
    public static func link(from message: NetlinkMessage) throws(NetlinkError) -> LinkInfo? {
        guard message.type == NetlinkWire.newLink else { return nil }
        let operation = "parse RTM_NEWLINK"
        let payload = message.payload
        guard payload.count >= NetlinkWire.ifinfomsgSize,
              let index = payload.loadNative(Int32.self, at: 4),
              let flags = payload.loadNative(UInt32.self, at: 8) else {
            throw .malformed(operation, "\(payload.count) payload bytes, fewer than an ifinfomsg (\(NetlinkWire.ifinfomsgSize))")
        }
        guard index > 0 else {
            throw .malformed(operation, "ifi_index \(index) is not positive")
        }
        var name: String?
        var mtu: UInt32?
        var operState: UInt8 = 0 // IF_OPER_UNKNOWN
        for attribute in try attributes(in: payload, from: NetlinkWire.align(NetlinkWire.ifinfomsgSize)) {
            switch attribute.type {
            case NetlinkWire.linkName:
                name = try interfaceName(attribute.value, operation: operation)
            case NetlinkWire.linkMTU:
                guard attribute.value.count == 4, let value = attribute.value.loadNative(UInt32.self, at: 0) else {
                    throw .malformed(operation, "IFLA_MTU has \(attribute.value.count) bytes, expected 4")
                }
                mtu = value
            case NetlinkWire.linkOperState:
                guard attribute.value.count == 1 else {
                    throw .malformed(operation, "IFLA_OPERSTATE has \(attribute.value.count) bytes, expected 1")
                }
                operState = attribute.value[0]
            default:
                continue
            }
        }
        guard let name else { throw .malformed(operation, "ifindex \(index) has no IFLA_IFNAME") }
        guard let mtu else { throw .malformed(operation, "ifindex \(index) (\(name)) has no IFLA_MTU") }
        return LinkInfo(ifindex: UInt32(index), name: name, flags: flags, mtu: mtu, operState: operState)
    }

    /// The address in an RTM_NEWADDR message; nil for any other message type
    /// and for families other than AF_INET and AF_INET6. Requires a nonzero
    /// ifindex, a prefix length that fits the family, and IFA_LOCAL or
    /// IFA_ADDRESS with exactly 4 (AF_INET) or 16 (AF_INET6) bytes.
    public static func address(from message: NetlinkMessage) throws(NetlinkError) -> AddressInfo? {
        guard message.type == NetlinkWire.newAddress else { return nil }
        let operation = "parse RTM_NEWADDR"
        let payload = message.payload
        guard payload.count >= NetlinkWire.ifaddrmsgSize,
              let index = payload.loadNative(UInt32.self, at: 4) else {
            throw .malformed(operation, "\(payload.count) payload bytes, fewer than an ifaddrmsg (\(NetlinkWire.ifaddrmsgSize))")
        }
        let family = payload[0]
        let prefixLength = Int(payload[1])
        let addressSize: Int
        switch family {
        case NetlinkWire.familyInet: addressSize = 4
        case NetlinkWire.familyInet6: addressSize = 16
        default: return nil
        }
        guard prefixLength <= addressSize * 8 else {
            throw .malformed(operation, "ifa_prefixlen \(prefixLength) is longer than a family \(family) address")
        }
        guard index > 0 else { throw .malformed(operation, "ifa_index is 0") }
        var local: IPAddress?
        var address: IPAddress?
        for attribute in try attributes(in: payload, from: NetlinkWire.align(NetlinkWire.ifaddrmsgSize)) {
            let label: String
            switch attribute.type {
            case NetlinkWire.addressLocal: label = "IFA_LOCAL"
            case NetlinkWire.addressAddress: label = "IFA_ADDRESS"
            default: continue
            }
            guard attribute.value.count == addressSize, let value = IPAddress(bytes: attribute.value) else {
                throw .malformed(operation, "\(label) has \(attribute.value.count) bytes, expected \(addressSize) for family \(family)")
            }
            if attribute.type == NetlinkWire.addressLocal { local = value } else { address = value }
        }
        guard let chosen = local ?? address else {
            throw .malformed(operation, "ifindex \(index) has neither IFA_LOCAL nor IFA_ADDRESS")
        }
        return AddressInfo(ifindex: index, address: chosen, prefixLength: prefixLength)
    }

    private static func interfaceName(_ value: [UInt8], operation: String) throws(NetlinkError) -> String {
        guard value.count <= NetlinkWire.maximumInterfaceNameSize else {
            throw .malformed(operation, "IFLA_IFNAME has \(value.count) bytes, more than IFNAMSIZ (16)")
        }
        guard let end = value.firstIndex(of: 0) else {
            throw .malformed(operation, "IFLA_IFNAME is not NUL-terminated")
        }
        guard end > 0 else { throw .malformed(operation, "IFLA_IFNAME is empty") }
        guard let name = String(validating: value[..<end], as: UTF8.self) else {
            throw .malformed(operation, "IFLA_IFNAME is not UTF-8")
        }
        return name
    }
}
