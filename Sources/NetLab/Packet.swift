import NetAddress

/// Builds Ethernet frames for BPF_PROG_TEST_RUN: IPv4 or IPv6 with UDP, TCP
/// or raw payloads, with correct checksums (RFC 1071).
public struct Packet {
    public var destinationMAC: [UInt8] = [0, 0, 0, 0, 0, 0]   // loopback's: PACKET_HOST in test runs
    public var sourceMAC: [UInt8] = [0x02, 0, 0, 0, 0, 0x01]
    public var source: IPAddress
    public var destination: IPAddress
    public var ttl: UInt8 = 64
    public var proto: UInt8 = 17
    public var sourcePort: UInt16 = 40000
    public var destinationPort: UInt16 = 9000
    /// TCP flags (SYN by default; 0x10 ACK, 0x11 FIN+ACK, 0x04 RST).
    public var tcpFlags: UInt8 = 0x02
    /// Sends UDP over IPv4 without a checksum (0), as RFC 768 allows.
    public var udpChecksumZero = false
    /// Bytes after the transport header: 0, 1, 2, ... unless `payload` is set.
    public var payloadLength = 32
    /// The payload itself (then `payloadLength` is ignored).
    public var payload: [UInt8]?
    /// IPv4 fragment field (flags and offset), host order.
    public var fragment: UInt16 = 0
    /// An 802.1Q tag to insert after the MAC addresses.
    public var vlanID: UInt16?
    /// Overrides the EtherType (for non-IP frames).
    public var etherType: UInt16?

    public init(from source: String, to destination: String) {
        self.source = IPAddress(source)!
        self.destination = IPAddress(destination)!
    }

    public var bytes: [UInt8] {
        var frame = destinationMAC + sourceMAC
        if let vlanID { frame += be16(0x8100) + be16(vlanID) }
        let ip = source.family == .v4 ? ipv4() : ipv6()
        frame += be16(etherType ?? (source.family == .v4 ? 0x0800 : 0x86dd))
        return frame + ip
    }

    private func transport(pseudoHeader: [UInt8]) -> [UInt8] {
        let payload = self.payload ?? (0..<payloadLength).map { UInt8(truncatingIfNeeded: $0) }
        var segment: [UInt8]
        let checksumOffset: Int
        switch proto {
        case 17:
            segment = be16(sourcePort) + be16(destinationPort) + be16(UInt16(8 + payload.count)) + [0, 0] + payload
            checksumOffset = 6
        case 6:
            segment = be16(sourcePort) + be16(destinationPort) + [0, 0, 0, 1, 0, 0, 0, 0, 0x50, tcpFlags, 0xff, 0xff, 0, 0, 0, 0] + payload
            checksumOffset = 16
        default:
            return payload
        }
        if proto == 17 && udpChecksumZero && source.family == .v4 { return segment }
        var sum = Checksum.internet(pseudoHeader + segment)
        if sum == 0 && proto == 17 { sum = 0xffff }
        segment[checksumOffset] = UInt8(sum >> 8)
        segment[checksumOffset + 1] = UInt8(sum & 0xff)
        return segment
    }

    private func ipv4() -> [UInt8] {
        let transportLength = (proto == 17 ? 8 : proto == 6 ? 20 : 0) + (payload?.count ?? payloadLength)
        let pseudo = source.bytes + destination.bytes + [0, proto] + be16(UInt16(transportLength))
        let body = transport(pseudoHeader: pseudo)
        var header: [UInt8] = [0x45, 0] + be16(UInt16(20 + body.count)) + [0x12, 0x34] + be16(fragment)
            + [ttl, proto, 0, 0] + source.bytes + destination.bytes
        let sum = Checksum.internet(header)
        header[10] = UInt8(sum >> 8)
        header[11] = UInt8(sum & 0xff)
        return header + body
    }

    private func ipv6() -> [UInt8] {
        let transportLength = (proto == 17 ? 8 : proto == 6 ? 20 : 0) + (payload?.count ?? payloadLength)
        let pseudo = source.bytes + destination.bytes + be32(UInt32(transportLength)) + [0, 0, 0, proto]
        let body = transport(pseudoHeader: pseudo)
        return [0x60, 0, 0, 0] + be16(UInt16(body.count)) + [proto, ttl] + source.bytes + destination.bytes + body
    }
}

/// An ARP request, for the not-IP case.
public func arpFrame() -> [UInt8] {
    [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06] + [UInt8](repeating: 0, count: 28)
}

/// The Internet checksum (RFC 1071), computed from scratch.
public enum Checksum {
    public static func internet(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum += UInt32(bytes[index]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// Whether the TCP or UDP checksum of an untagged IPv4 or IPv6 frame is
    /// right, computed from scratch over the pseudo header (a UDP/IPv4
    /// checksum of 0, "none", counts as right).
    public static func transportIsValid(frame: [UInt8]) -> Bool {
        guard frame.count >= 14 + 20 else { return false }
        let isV4 = frame[12] == 0x08 && frame[13] == 0x00
        let headerLength = isV4 ? Int(frame[14] & 0x0f) * 4 : 40
        let proto = isV4 ? frame[14 + 9] : frame[14 + 6]
        let start = 14 + headerLength
        guard frame.count > start else { return false }
        let segment = Array(frame[start...])
        let pseudo: [UInt8]
        if isV4 {
            pseudo = Array(frame[26..<34]) + [0, proto] + be16(UInt16(segment.count))
        } else {
            pseudo = Array(frame[22..<54]) + be32(UInt32(segment.count)) + [0, 0, 0, proto]
        }
        if proto == 17 && isV4 && segment.count >= 8 && segment[6] == 0 && segment[7] == 0 { return true }
        return internet(pseudo + segment) == 0
    }

    /// Whether the IPv4 header of an untagged Ethernet frame sums to zero.
    public static func ipv4HeaderIsValid(frame: [UInt8]) -> Bool {
        guard frame.count >= 34 else { return false }
        let headerLength = Int(frame[14] & 0x0f) * 4
        guard frame.count >= 14 + headerLength else { return false }
        return internet(Array(frame[14..<(14 + headerLength)])) == 0
    }
}

func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xff)] }
func be32(_ value: UInt32) -> [UInt8] { [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)] }
