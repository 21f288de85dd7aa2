#if canImport(Glibc)
import Glibc
#endif
import NetAddress
import Testing
@testable import Netlink

@Suite("Netlink parser")
struct NetlinkParserTests {
    @Test("RTM_NEWLINK yields ifindex, name, flags, MTU and operstate")
    func parsesNewLink() throws {
        let bytes = Wire.message(type: Wire.rtmNewLink, payload: Wire.linkPayload(index: 4, name: "veth-a", mtu: 9000, operState: 6))
        let messages = try NetlinkParser.messages(in: bytes)
        try #require(messages.count == 1)
        #expect(messages[0].sequence == 7 && messages[0].portID == 99)
        let link = try #require(try NetlinkParser.link(from: messages[0]))
        #expect(link == LinkInfo(ifindex: 4, name: "veth-a", flags: 0x1_0043, mtu: 9000, operState: 6))
        #expect(link.isUp)
        #expect(try NetlinkParser.address(from: messages[0]) == nil, "a link message is not an address")
    }

    @Test("isUp needs IFF_UP and a carrier (IFF_LOWER_UP or IFF_RUNNING)")
    func isUpNeedsUpAndCarrier() {
        func link(_ flags: UInt32) -> LinkInfo { LinkInfo(ifindex: 1, name: "x", flags: flags, mtu: 1500, operState: 0) }
        #expect(!link(0).isUp)
        #expect(!link(0x1).isUp, "IFF_UP alone has no carrier")
        #expect(!link(0x1_0040).isUp, "carrier without IFF_UP is administratively down")
        #expect(link(0x1_0001).isUp)
        #expect(link(0x41).isUp)
    }

    @Test("A missing IFLA_OPERSTATE reads as IF_OPER_UNKNOWN; unknown attributes are skipped")
    func optionalAndUnknownAttributes() throws {
        let payload = Wire.ifinfomsg(index: 1, flags: 0x9)
            + Wire.attribute(99, [1, 2, 3, 4, 5])
            + Wire.attribute(Wire.iflaIfname, Wire.cString("lo"))
            + Wire.attribute(Wire.iflaMTU | 0x8000, Wire.native(UInt32(65536))) // NLA_F_NESTED bit is masked off
        let parsed = try parseEverything(Wire.message(type: Wire.rtmNewLink, payload: payload))
        #expect(parsed.links == [LinkInfo(ifindex: 1, name: "lo", flags: 0x9, mtu: 65536, operState: 0)])
    }

    @Test("RTM_NEWADDR for IPv4 prefers IFA_LOCAL over IFA_ADDRESS")
    func parsesIPv4Address() throws {
        let payload = Wire.ifaddrmsg(family: Wire.afInet, prefixLength: 24, index: 3)
            + Wire.attribute(Wire.ifaAddress, [198, 18, 5, 2])
            + Wire.attribute(Wire.ifaLocal, [198, 18, 5, 1])
        let parsed = try parseEverything(Wire.message(type: Wire.rtmNewAddr, payload: payload))
        #expect(parsed.addresses == [AddressInfo(ifindex: 3, address: try #require(IPAddress("198.18.5.1")), prefixLength: 24)])
    }

    @Test("RTM_NEWADDR for IPv6 uses IFA_ADDRESS when there is no IFA_LOCAL")
    func parsesIPv6Address() throws {
        let address = try #require(IPAddress("2001:db8:5::1"))
        let payload = Wire.ifaddrmsg(family: Wire.afInet6, prefixLength: 64, index: 3)
            + Wire.attribute(Wire.ifaAddress, address.bytes)
            + Wire.attribute(8 /* IFA_FLAGS */, Wire.native(UInt32(0x80)))
        let parsed = try parseEverything(Wire.message(type: Wire.rtmNewAddr, payload: payload))
        #expect(parsed.addresses == [AddressInfo(ifindex: 3, address: address, prefixLength: 64)])
    }

    @Test("A datagram with several messages and NLMSG_DONE parses in order")
    func parsesMultipartDatagram() throws {
        let bytes = Wire.message(type: Wire.rtmNewLink, flags: Wire.nlmFMulti, payload: Wire.linkPayload(index: 1, name: "lo"))
            + Wire.message(type: Wire.rtmNewLink, flags: Wire.nlmFMulti, payload: Wire.linkPayload(index: 2, name: "eth0"))
            + Wire.message(type: Wire.nlmsgDone, flags: Wire.nlmFMulti, payload: Wire.native(Int32(0)))
        let parsed = try parseEverything(bytes)
        #expect(parsed.links.map(\.name) == ["lo", "eth0"])
        #expect(parsed.kinds == [.data, .data, .done])
    }

    @Test("NLMSG_ERROR carries the kernel's errno; code 0 is an acknowledgement")
    func errorMessages() throws {
        let failure = try NetlinkParser.messages(in: Wire.message(type: Wire.nlmsgError, payload: Wire.errorPayload(-EPERM)))
        #expect(throws: NetlinkError(operation: "dump", errno: EPERM, detail: "kernel answered NLMSG_ERROR")) {
            try NetlinkParser.classify(failure[0], operation: "dump")
        }
        let ack = try NetlinkParser.messages(in: Wire.message(type: Wire.nlmsgError, payload: Wire.errorPayload(0)))
        #expect(try NetlinkParser.classify(ack[0]) == .acknowledgement)
        let failedDump = try NetlinkParser.messages(in: Wire.message(type: Wire.nlmsgDone, payload: Wire.native(Int32(-EINVAL))))
        #expect(throws: NetlinkError.self, "NLMSG_DONE with a negative code is a failed dump") {
            try NetlinkParser.classify(failedDump[0])
        }
    }

    @Test("An empty datagram holds no messages")
    func emptyDatagram() throws {
        #expect(try NetlinkParser.messages(in: []).isEmpty)
    }

    /// How a malformed buffer must end: an EBADMSG error, or no link/address.
    enum Outcome { case rejected, skipped }

    static let malformed: [(String, [UInt8], Outcome)] = {
        let goodLink = Wire.message(type: Wire.rtmNewLink, payload: Wire.linkPayload())
        let v4 = Wire.ifaddrmsg(family: Wire.afInet, prefixLength: 24, index: 3)
        let v6 = Wire.ifaddrmsg(family: Wire.afInet6, prefixLength: 64, index: 3)
        func link(_ payload: [UInt8]) -> [UInt8] { Wire.message(type: Wire.rtmNewLink, payload: payload) }
        func address(_ payload: [UInt8]) -> [UInt8] { Wire.message(type: Wire.rtmNewAddr, payload: payload) }
        let name = Wire.attribute(Wire.iflaIfname, Wire.cString("eth0"))
        let mtu = Wire.attribute(Wire.iflaMTU, Wire.native(UInt32(1500)))
        return [
            ("datagram shorter than nlmsghdr", Array(goodLink.prefix(10)), .rejected),
            ("nlmsg_len 0 (would loop forever)", Wire.rawHeader(length: 0, type: Wire.rtmNewLink), .rejected),
            ("nlmsg_len smaller than the header", Wire.rawHeader(length: 8, type: Wire.rtmNewLink) + [0, 0, 0, 0], .rejected),
            ("nlmsg_len beyond the datagram", Wire.rawHeader(length: 100, type: Wire.rtmNewLink) + [UInt8](repeating: 0, count: 20), .rejected),
            ("second message cut short", goodLink + Array(goodLink.prefix(goodLink.count - 6)), .rejected),
            ("ifinfomsg truncated to 8 bytes", link(Array(Wire.ifinfomsg(index: 2).prefix(8))), .rejected),
            ("ifindex 0", link(Wire.ifinfomsg(index: 0) + name + mtu), .rejected),
            ("negative ifindex", link(Wire.ifinfomsg(index: -5) + name + mtu), .rejected),
            ("rta_len 2, shorter than rtattr", link(Wire.ifinfomsg(index: 2) + Wire.rawAttribute(length: 2, type: 3, value: [0, 0])), .rejected),
            ("rta_len beyond the message", link(Wire.ifinfomsg(index: 2) + Wire.rawAttribute(length: 40, type: 3, value: Wire.cString("eth0"))), .rejected),
            ("two stray bytes after the attributes", link(Wire.ifinfomsg(index: 2) + name + mtu + [1, 2]), .rejected),
            ("IFLA_IFNAME without NUL", link(Wire.ifinfomsg(index: 2) + Wire.attribute(Wire.iflaIfname, Array("eth0".utf8)) + mtu), .rejected),
            ("IFLA_IFNAME longer than IFNAMSIZ", link(Wire.ifinfomsg(index: 2) + Wire.attribute(Wire.iflaIfname, Wire.cString("a-very-long-name-0")) + mtu), .rejected),
            ("IFLA_IFNAME empty", link(Wire.ifinfomsg(index: 2) + Wire.attribute(Wire.iflaIfname, [0]) + mtu), .rejected),
            ("IFLA_IFNAME not UTF-8", link(Wire.ifinfomsg(index: 2) + Wire.attribute(Wire.iflaIfname, [0xff, 0xfe, 0]) + mtu), .rejected),
            ("IFLA_MTU of 2 bytes", link(Wire.ifinfomsg(index: 2) + name + Wire.attribute(Wire.iflaMTU, [0xdc, 0x05])), .rejected),
            ("IFLA_MTU of 8 bytes", link(Wire.ifinfomsg(index: 2) + name + Wire.attribute(Wire.iflaMTU, Wire.native(UInt64(1500)))), .rejected),
            ("IFLA_OPERSTATE of 4 bytes", link(Wire.ifinfomsg(index: 2) + name + mtu + Wire.attribute(Wire.iflaOperstate, Wire.native(UInt32(6)))), .rejected),
            ("link without IFLA_IFNAME", link(Wire.ifinfomsg(index: 2) + mtu), .rejected),
            ("link without IFLA_MTU", link(Wire.ifinfomsg(index: 2) + name), .rejected),
            ("ifaddrmsg truncated to 4 bytes", address(Array(v4.prefix(4))), .rejected),
            ("IFA_ADDRESS of 5 bytes for AF_INET", address(v4 + Wire.attribute(Wire.ifaAddress, [10, 0, 0, 1, 9])), .rejected),
            ("IFA_LOCAL of 4 bytes for AF_INET6", address(v6 + Wire.attribute(Wire.ifaLocal, [10, 0, 0, 1])), .rejected),
            ("IFA_ADDRESS of 16 bytes for AF_INET", address(v4 + Wire.attribute(Wire.ifaAddress, [UInt8](repeating: 1, count: 16))), .rejected),
            ("IPv4 prefix length 33", address(Wire.ifaddrmsg(family: Wire.afInet, prefixLength: 33, index: 3) + Wire.attribute(Wire.ifaAddress, [10, 0, 0, 1])), .rejected),
            ("address ifindex 0", address(Wire.ifaddrmsg(family: Wire.afInet, prefixLength: 8, index: 0) + Wire.attribute(Wire.ifaAddress, [10, 0, 0, 1])), .rejected),
            ("address without IFA_LOCAL or IFA_ADDRESS", address(v4 + Wire.attribute(3 /* IFA_LABEL */, Wire.cString("x0"))), .rejected),
            ("NLMSG_ERROR with a 2-byte payload", Wire.message(type: Wire.nlmsgError, payload: [1, 2]), .rejected),
            ("NLMSG_ERROR with a positive code", Wire.message(type: Wire.nlmsgError, payload: Wire.errorPayload(5)), .rejected),
            ("NLMSG_OVERRUN", Wire.message(type: Wire.nlmsgOverrun, payload: []), .rejected),
            ("address of family AF_PACKET", address(Wire.ifaddrmsg(family: 17, prefixLength: 0, index: 3) + Wire.attribute(Wire.ifaAddress, [1, 2, 3, 4, 5, 6])), .skipped),
            ("RTM_DELLINK is not a link to report", Wire.message(type: Wire.rtmDelLink, payload: Wire.linkPayload()), .skipped),
            ("unpadded last message", Array(Wire.message(type: 1 /* NLMSG_NOOP */, payload: [1, 2]).prefix(18)), .skipped),
        ]
    }()

    @Test("Malformed input is rejected with EBADMSG or skipped, never trusted", arguments: malformed)
    func rejectsMalformed(_ name: String, _ bytes: [UInt8], _ expected: Outcome) {
        switch expected {
        case .rejected:
            do {
                let parsed = try parseEverything(bytes)
                Issue.record("\(name): accepted as \(parsed)")
            } catch {
                if Self.kernelErrnoCases.contains(name) {
                    #expect(error.errno != 0, "\(name): \(error)")
                } else {
                    #expect(error.errno == EBADMSG, "\(name): expected EBADMSG, got \(error)")
                }
            }
        case .skipped:
            #expect(throws: Never.self, "\(name) must not throw") {
                let parsed = try parseEverything(bytes)
                #expect(parsed.links.isEmpty && parsed.addresses.isEmpty, "\(name): parsed \(parsed)")
            }
        }
    }

    static let kernelErrnoCases: Set<String> = ["NLMSG_OVERRUN"]

    @Test("5000 mutated and truncated valid datagrams only return or throw")
    func survivesMutations() {
        let v6 = IPAddress.v6(0x2001_0db8_0000_0000, 1) // 2001:db8::1
        let seeds: [[UInt8]] = [
            Wire.message(type: Wire.rtmNewLink, flags: Wire.nlmFMulti, payload: Wire.linkPayload(index: 1, name: "lo"))
                + Wire.message(type: Wire.rtmNewLink, flags: Wire.nlmFMulti, payload: Wire.linkPayload(index: 2, name: "eth0")),
            Wire.message(type: Wire.rtmNewAddr, payload: Wire.ifaddrmsg(family: Wire.afInet, prefixLength: 24, index: 2)
                + Wire.attribute(Wire.ifaLocal, [192, 0, 2, 1]) + Wire.attribute(Wire.ifaAddress, [192, 0, 2, 1]))
                + Wire.message(type: Wire.rtmNewAddr, payload: Wire.ifaddrmsg(family: Wire.afInet6, prefixLength: 64, index: 2)
                + Wire.attribute(Wire.ifaAddress, v6.bytes))
                + Wire.message(type: Wire.nlmsgDone, payload: Wire.native(Int32(0))),
            Wire.message(type: Wire.nlmsgError, payload: Wire.errorPayload(-ENODEV)),
        ]
        var random = SplitMix64(seed: 0x726f_7574_656c_6574)
        var outcomes = (returned: 0, threw: 0)
        for round in 0..<5000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0...random.next(below: 4) {
                switch random.next(below: 5) {
                case 0 where !bytes.isEmpty: // flip a byte
                    bytes[random.next(below: bytes.count)] = UInt8(truncatingIfNeeded: random.nextValue())
                case 1: // truncate
                    bytes = Array(bytes.prefix(random.next(below: bytes.count + 1)))
                case 2 where bytes.count >= 2: // lie in a 16-bit length (rta_len or half of nlmsg_len)
                    let at = random.next(below: bytes.count - 1)
                    let value = [UInt16(0), 1, 3, 4, 5, 0xffff, UInt16(truncatingIfNeeded: random.nextValue())][random.next(below: 7)]
                    bytes[at] = UInt8(truncatingIfNeeded: value)
                    bytes[at + 1] = UInt8(truncatingIfNeeded: value >> 8)
                case 3: // insert junk
                    let at = random.next(below: bytes.count + 1)
                    bytes.insert(contentsOf: (0..<random.next(below: 9)).map { _ in UInt8(truncatingIfNeeded: random.nextValue()) }, at: at)
                default: // append junk
                    bytes.append(UInt8(truncatingIfNeeded: random.nextValue()))
                }
            }
            do {
                _ = try parseEverything(bytes)
                outcomes.returned += 1
            } catch {
                outcomes.threw += 1
            }
        }
        #expect(outcomes.returned + outcomes.threw == 5000)
        #expect(outcomes.threw > 0 && outcomes.returned > 0, "mutations should exercise both paths: \(outcomes)")
    }
}

/// A small seeded generator so a failing mutation round can be replayed.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func nextValue() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func next(below bound: Int) -> Int {
        bound <= 0 ? 0 : Int(nextValue() % UInt64(bound))
    }
}
