/// One network interface as reported by RTM_NEWLINK: the fields routelet
/// needs to decide whether a device can carry traffic.
public struct LinkInfo: Hashable, Sendable {
    /// The kernel's interface index (ifi_index), always greater than zero.
    public var ifindex: UInt32
    /// The interface name (IFLA_IFNAME), at most 15 bytes.
    public var name: String
    /// The IFF_* flags from ifi_flags.
    public var flags: UInt32
    /// IFLA_MTU.
    public var mtu: UInt32
    /// IFLA_OPERSTATE, one of the IF_OPER_* values (IF_OPER_UNKNOWN when absent).
    public var operState: UInt8

    public init(ifindex: UInt32, name: String, flags: UInt32, mtu: UInt32, operState: UInt8) {
        self.ifindex = ifindex
        self.name = name
        self.flags = flags
        self.mtu = mtu
        self.operState = operState
    }

    /// Administratively up and with a carrier: IFF_UP, plus IFF_LOWER_UP or
    /// IFF_RUNNING (drivers without carrier reporting only set the latter).
    public var isUp: Bool {
        flags & InterfaceFlags.up != 0
            && flags & (InterfaceFlags.lowerUp | InterfaceFlags.running) != 0
    }
}

/// IFF_* bits from <linux/if.h>; glibc's <net/if.h> lacks IFF_LOWER_UP and
/// the two headers cannot be included together, so they are spelled here.
public enum InterfaceFlags {
    public static let up: UInt32 = 0x1
    public static let running: UInt32 = 0x40
    public static let lowerUp: UInt32 = 0x1_0000
}
