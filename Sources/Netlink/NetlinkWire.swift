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
    static let rtmsgSize = 12               // struct rtmsg
    static let fibRuleHeaderSize = 12       // struct fib_rule_hdr
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
    static let acknowledge = UInt16(NLM_F_ACK)
    static let create = UInt16(NLM_F_CREATE)
    static let exclusive = UInt16(NLM_F_EXCL)
    static let replace = UInt16(NLM_F_REPLACE)
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

    // Routes (<linux/rtnetlink.h>).
    static let newRoute = UInt16(RTM_NEWROUTE)
    static let deleteRoute = UInt16(RTM_DELROUTE)
    static let getRoute = UInt16(RTM_GETROUTE)
    static let routeDestination = UInt16(RTA_DST.rawValue)
    static let routeOutputInterface = UInt16(RTA_OIF.rawValue)
    static let routeTable = UInt16(RTA_TABLE.rawValue)
    static let routeTypeLocal = UInt8(RTN_LOCAL)
    static let scopeHost = UInt8(RT_SCOPE_HOST.rawValue)
    /// Tables above 255 do not fit rtm_table / fib_rule_hdr.table: RT_TABLE_UNSPEC there, the number in an attribute.
    static let tableUnspecified = UInt8(RT_TABLE_UNSPEC.rawValue)

    // Policy rules (<linux/fib_rules.h>).
    static let newRule = UInt16(RTM_NEWRULE)
    static let deleteRule = UInt16(RTM_DELRULE)
    static let getRule = UInt16(RTM_GETRULE)
    static let rulePriority = UInt16(FRA_PRIORITY)
    static let ruleMark = UInt16(FRA_FWMARK)
    static let ruleMask = UInt16(FRA_FWMASK)
    static let ruleTable = UInt16(FRA_TABLE)
    static let ruleProtocol = UInt16(FRA_PROTOCOL)
    static let rulePadding = UInt16(FRA_PAD)
    static let ruleSuppressPrefixLength = UInt16(FRA_SUPPRESS_PREFIXLEN)
    static let ruleSuppressGroup = UInt16(FRA_SUPPRESS_IFGROUP)
    static let ruleActionToTable = UInt8(FR_ACT_TO_TBL)

    // Socket options (<linux/netlink.h>).
    static let solNetlink: Int32 = 270      // SOL_NETLINK
    static let getStrictCheck: Int32 = 12   // NETLINK_GET_STRICT_CHK: dump requests filter as asked

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
