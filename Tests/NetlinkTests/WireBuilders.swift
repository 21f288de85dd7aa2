import NetAddress
@testable import Netlink

/// Hand-built rtnetlink messages for the parser tests. The numbers are the
/// kernel's (<linux/rtnetlink.h>, <linux/if_link.h>, <linux/if_addr.h>),
/// spelled out so a wrong constant in the module cannot hide behind itself.
enum Wire {
    static let nlmsgError: UInt16 = 2
    static let nlmsgDone: UInt16 = 3
    static let nlmsgOverrun: UInt16 = 4
    static let rtmNewLink: UInt16 = 16
    static let rtmDelLink: UInt16 = 17
    static let rtmNewAddr: UInt16 = 20
    static let iflaIfname: UInt16 = 3
    static let iflaMTU: UInt16 = 4
    static let iflaOperstate: UInt16 = 16
    static let ifaAddress: UInt16 = 1
    static let ifaLocal: UInt16 = 2
    static let afInet: UInt8 = 2
    static let afInet6: UInt8 = 10
    static let nlmFMulti: UInt16 = 0x2
    static let nlmFDumpIntr: UInt16 = 0x10

    static func native<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value) { Array($0) }
    }

    /// An rtattr with an arbitrary rta_len, for lying about lengths.
    static func rawAttribute(length: UInt16, type: UInt16, value: [UInt8]) -> [UInt8] {
        native(length) + native(type) + value
    }

    static func attribute(_ type: UInt16, _ value: [UInt8]) -> [UInt8] {
        NetlinkAttribute(type: type, value: value).encoded
    }

    static func cString(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }

    static func ifinfomsg(index: Int32, flags: UInt32 = 0) -> [UInt8] {
        [0, 0] + native(UInt16(1)) + native(index) + native(flags) + native(UInt32(0))
    }

    static func ifaddrmsg(family: UInt8, prefixLength: UInt8, index: UInt32) -> [UInt8] {
        [family, prefixLength, 0, 0] + native(index)
    }

    static func linkPayload(index: Int32 = 2, name: String = "eth0", mtu: UInt32 = 1500,
                            operState: UInt8 = 6, flags: UInt32 = 0x1_0043) -> [UInt8] {
        ifinfomsg(index: index, flags: flags)
            + attribute(iflaIfname, cString(name))
            + attribute(iflaMTU, native(mtu))
            + attribute(iflaOperstate, [operState])
    }

    /// nlmsghdr + payload with a correct nlmsg_len, padded to 4 bytes.
    static func message(type: UInt16, flags: UInt16 = 0, sequence: UInt32 = 7, portID: UInt32 = 99,
                        payload: [UInt8]) -> [UInt8] {
        let bytes = NetlinkMessage(type: type, flags: flags, sequence: sequence, portID: portID, payload: payload).encoded
        return bytes + [UInt8](repeating: 0, count: NetlinkWire.align(bytes.count) - bytes.count)
    }

    /// A header whose nlmsg_len is whatever the test says.
    static func rawHeader(length: UInt32, type: UInt16) -> [UInt8] {
        native(length) + native(type) + native(UInt16(0)) + native(UInt32(7)) + native(UInt32(99))
    }

    static func errorPayload(_ code: Int32) -> [UInt8] {
        native(code) + rawHeader(length: 16, type: 18)
    }
}

/// Everything the parser can extract from a datagram, for table tests.
struct Parsed: Equatable {
    var links: [LinkInfo] = []
    var addresses: [AddressInfo] = []
    var kinds: [NetlinkMessage.Kind] = []
}

func parseEverything(_ bytes: [UInt8]) throws(NetlinkError) -> Parsed {
    var parsed = Parsed()
    for message in try NetlinkParser.messages(in: bytes) {
        parsed.kinds.append(try NetlinkParser.classify(message))
        if let link = try NetlinkParser.link(from: message) { parsed.links.append(link) }
        if let address = try NetlinkParser.address(from: message) { parsed.addresses.append(address) }
    }
    return parsed
}
