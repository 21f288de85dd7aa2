import CRouteletSys

/// Sizes, alignment and type numbers of the netlink wire format. The C
/// macros (NLMSG_ALIGN, RTA_NEXT, ...) do not import into Swift, so the
/// arithmetic is redone here; the numbers come from the kernel headers.
enum NetlinkWire {
    static let alignment = 4
    static let headerSize = 16              // struct nlmsghdr
    static let attributeHeaderSize = 4      // struct rtattr
    static let ifinfomsgSize = 16           // struct ifinfomsg
    static let ifaddrmsgSize = 8            // struct ifaddrmsg
    static let maximumInterfaceNameSize = 16 // IFNAMSIZ, including the NUL

    /// Rounds up to the next multiple of 4 (NLMSG_ALIGN / RTA_ALIGN). Lengths
    /// come from 16- or 32-bit fields, so this cannot overflow an Int.
    static func align(_ length: Int) -> Int {
        (length + alignment - 1) & ~(alignment - 1)
    }

    // Control message types (<linux/netlink.h>).
    static let noop = UInt16(NLMSG_NOOP)
    static let error = UInt16(NLMSG_ERROR)
    static let done = UInt16(NLMSG_DONE)
    static let overrun = UInt16(NLMSG_OVERRUN)
    static let minimumFamilyType = UInt16(NLMSG_MIN_TYPE)

    // Flags.
    static let request = UInt16(NLM_F_REQUEST)
    static let dump = UInt16(NLM_F_DUMP)
    static let dumpInterrupted = UInt16(NLM_F_DUMP_INTR)
    static let attributeTypeMask = ~UInt16(NLA_F_NESTED | NLA_F_NET_BYTEORDER)

    // rtnetlink (<linux/rtnetlink.h>, <linux/if_link.h>, <linux/if_addr.h>).
    static let newLink = UInt16(RTM_NEWLINK)
    static let getLink = UInt16(RTM_GETLINK)
    static let newAddress = UInt16(RTM_NEWADDR)
    static let getAddress = UInt16(RTM_GETADDR)
    static let linkName = UInt16(IFLA_IFNAME)
    static let linkMTU = UInt16(IFLA_MTU)
    static let linkOperState = UInt16(IFLA_OPERSTATE)
    static let addressAddress = UInt16(IFA_ADDRESS)
    static let addressLocal = UInt16(IFA_LOCAL)

    static let familyInet: UInt8 = 2        // AF_INET
    static let familyInet6: UInt8 = 10      // AF_INET6

    static let linkGroups = UInt32(RTMGRP_LINK)
    static let ipv4AddressGroups = UInt32(RTMGRP_IPV4_IFADDR)
    static let ipv6AddressGroups = UInt32(RTMGRP_IPV6_IFADDR)
}

extension Array where Element == UInt8 {
    /// A native-endian integer at `offset`, or nil when it would read past the end.
    func loadNative<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T? {
        guard offset >= 0, count - offset >= MemoryLayout<T>.size else { return nil }
        return withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    mutating func appendNative<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value) { append(contentsOf: $0) }
    }
}
