import NetAddress

/// One route of the kind `ip route add local PREFIX dev lo table T proto
/// N` makes: a prefix in a table, of a type (RTN_*), through an interface.
public struct TableRoute: Hashable, Sendable, CustomStringConvertible {
    public var destination: IPPrefix
    public var table: UInt32
    /// RTN_* (RTN_LOCAL = 2: deliver to this host).
    public var type: UInt8
    /// RTA_OIF; 0 when absent.
    public var outputInterface: UInt32
    /// rtm_protocol (RTPROT_*): who installed it.
    public var protocolNumber: UInt8

    public init(destination: IPPrefix, table: UInt32, type: UInt8, outputInterface: UInt32, protocolNumber: UInt8) {
        self.destination = destination
        self.table = table
        self.type = type
        self.outputInterface = outputInterface
        self.protocolNumber = protocolNumber
    }

    /// RTN_LOCAL.
    public static let typeLocal = NetlinkWire.routeTypeLocal

    /// A route that delivers `destination` to this host, through `loopback`.
    public static func local(_ destination: IPPrefix, table: UInt32, loopback: UInt32, protocolNumber: UInt8) -> TableRoute {
        TableRoute(destination: destination, table: table, type: typeLocal, outputInterface: loopback, protocolNumber: protocolNumber)
    }

    public var description: String {
        "\(type == Self.typeLocal ? "local" : "type \(type)") \(destination) table \(table) oif \(outputInterface) proto \(protocolNumber)"
    }

    /// struct rtmsg, then the attributes: the payload of RTM_NEWROUTE and RTM_DELROUTE.
    var payload: [UInt8] {
        var bytes: [UInt8] = [
            destination.family == .v4 ? NetlinkWire.familyInet : NetlinkWire.familyInet6,
            UInt8(destination.length), 0, 0,                    // dst_len, src_len, tos
            table < 256 ? UInt8(table) : NetlinkWire.tableUnspecified,
            protocolNumber,
            type == Self.typeLocal ? NetlinkWire.scopeHost : 0, // RT_SCOPE_HOST for local routes, else universe
            type,
        ]
        bytes.appendNative(UInt32(0))                           // rtm_flags
        if destination.length > 0 {
            bytes += NetlinkAttribute(type: NetlinkWire.routeDestination, value: destination.address.bytes).encoded
        }
        bytes += NetlinkAttribute(type: NetlinkWire.routeTable, value: nativeBytes(table)).encoded
        if outputInterface != 0 {
            bytes += NetlinkAttribute(type: NetlinkWire.routeOutputInterface, value: nativeBytes(outputInterface)).encoded
        }
        return bytes
    }
}

extension NetlinkParser {
    /// The route in an RTM_NEWROUTE message; nil for other message types
    /// and families other than AF_INET and AF_INET6.
    public static func route(from message: NetlinkMessage) throws(NetlinkError) -> TableRoute? {
        guard message.type == NetlinkWire.newRoute else { return nil }
        let operation = "parse RTM_NEWROUTE"
        let payload = message.payload
        guard payload.count >= NetlinkWire.rtmsgSize else {
            throw .malformed(operation, "\(payload.count) payload bytes, fewer than an rtmsg (\(NetlinkWire.rtmsgSize))")
        }
        let family: IPAddress.Family
        switch payload[0] {
        case NetlinkWire.familyInet: family = .v4
        case NetlinkWire.familyInet6: family = .v6
        default: return nil
        }
        let length = Int(payload[1])
        guard length <= family.bitCount else {
            throw .malformed(operation, "rtm_dst_len \(length) is longer than a \(family) address")
        }
        var table = UInt32(payload[4])
        var destination: IPAddress = family == .v4 ? IPAddress("0.0.0.0")! : IPAddress("::")!
        var outputInterface: UInt32 = 0
        for attribute in try attributes(in: payload, from: NetlinkWire.rtmsgSize) {
            switch attribute.type {
            case NetlinkWire.routeDestination:
                guard attribute.value.count == (family == .v4 ? 4 : 16), let address = IPAddress(bytes: attribute.value) else {
                    throw .malformed(operation, "RTA_DST has \(attribute.value.count) bytes for a \(family) route")
                }
                destination = address
            case NetlinkWire.routeTable: table = try u32(attribute, "RTA_TABLE", operation)
            case NetlinkWire.routeOutputInterface: outputInterface = try u32(attribute, "RTA_OIF", operation)
            default: continue
            }
        }
        guard let prefix = IPPrefix(address: destination.masked(to: length), length: length) else {
            throw .malformed(operation, "\(destination)/\(length) is not a prefix")
        }
        return TableRoute(destination: prefix, table: table, type: payload[7], outputInterface: outputInterface, protocolNumber: payload[5])
    }
}
