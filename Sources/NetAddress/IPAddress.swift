#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address, stored in network byte order as it appears in a
/// packet. Parsing and formatting follow inet_pton(3) / inet_ntop(3).
public enum IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    case v4(UInt32)                 // host-order value of the four bytes
    case v6(UInt64, UInt64)         // high and low halves, host-order values

    /// IPv4 or IPv6, with the bit width of its addresses.
    public enum Family: Sendable, Hashable, CustomStringConvertible {
        case v4, v6
        public var bitCount: Int { self == .v4 ? 32 : 128 }
        public var description: String { self == .v4 ? "IPv4" : "IPv6" }
    }

    public var family: Family {
        if case .v4 = self { return .v4 }
        return .v6
    }

    /// Parses dotted-quad IPv4 or any RFC 4291 IPv6 text form; nil otherwise.
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        // An embedded NUL would end the C string early: "10.0.0.1\0junk" must not parse.
        guard !text.isEmpty, text.utf8.count <= 64, !text.utf8.contains(0) else { return nil }
        if text.contains(":") {
            var raw = in6_addr()
            guard inet_pton(AF_INET6, text, &raw) == 1 else { return nil }
            self.init(bytes: withUnsafeBytes(of: raw) { Array($0) })!
        } else {
            var raw = in_addr()
            // inet_pton(AF_INET) accepts only the strict dotted-quad form.
            guard inet_pton(AF_INET, text, &raw) == 1 else { return nil }
            self.init(bytes: withUnsafeBytes(of: raw) { Array($0) })!
        }
    }

    /// From 4 or 16 bytes in network order.
    public init?(bytes: some Collection<UInt8>) {
        let bytes = Array(bytes)
        switch bytes.count {
        case 4:
            self = .v4(bytes.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            self = .v6(high, low)
        default:
            return nil
        }
    }

    /// The address in network order: 4 or 16 bytes.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let value):
            return (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
        case .v6(let high, let low):
            return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
                + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
        }
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let bytes = self.bytes
        let family = self.family == .v4 ? AF_INET : AF_INET6
        _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The address with every bit after the first `length` cleared.
    public func masked(to length: Int) -> IPAddress {
        switch self {
        case .v4(let value):
            let mask: UInt32 = length <= 0 ? 0 : (length >= 32 ? .max : ~(UInt32.max >> UInt32(length)))
            return .v4(value & mask)
        case .v6(let high, let low):
            func mask(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : (bits >= 64 ? .max : ~(UInt64.max >> UInt64(bits))) }
            return .v6(high & mask(length), low & mask(length - 64))
        }
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        switch (lhs, rhs) {
        case (.v4(let a), .v4(let b)): return a < b
        case (.v6(let a1, let a2), .v6(let b1, let b2)): return (a1, a2) < (b1, b2)
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        }
    }
}

/// A CIDR prefix such as 10.0.0.0/8 or 2001:db8::/32.
public struct IPPrefix: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let address: IPAddress
    public let length: Int

    /// A prefix whose address has no bits set past `length`.
    public init?(address: IPAddress, length: Int) {
        guard length >= 0, length <= address.family.bitCount, address.masked(to: length) == address else { return nil }
        self.address = address
        self.length = length
    }

    /// Parses "address/length"; nil unless the text is a canonical CIDR.
    /// Use ``parse(_:)`` to learn why a text was refused.
    public init?(_ text: some StringProtocol) {
        guard case .success(let prefix) = IPPrefix.parse(text) else { return nil }
        self = prefix
    }

    /// Why a text is not a canonical CIDR.
    public enum ParseError: Error, Equatable, Sendable {
        case missingLength
        case badAddress
        case badLength(maximum: Int)
        case hostBitsSet(canonical: IPPrefix)
    }

    public static func parse(_ text: some StringProtocol) -> Result<IPPrefix, ParseError> {
        // Bytes, not Characters: a table of 10,000 routes parses this often.
        let utf8 = text.utf8
        guard let slash = utf8.firstIndex(of: UInt8(ascii: "/")) else { return .failure(.missingLength) }
        guard let address = IPAddress(text[..<slash]) else { return .failure(.badAddress) }
        let maximum = address.family.bitCount
        let digits = utf8[utf8.index(after: slash)...]
        // 1-3 ASCII digits (counted first: twenty would overflow the sum), no
        // leading zero ("08" is not canonical), at most the family's bits.
        guard (1...3).contains(digits.count) else { return .failure(.badLength(maximum: maximum)) }
        var length = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return .failure(.badLength(maximum: maximum)) }
            length = length * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard digits.count == 1 || digits.first != UInt8(ascii: "0"), length <= maximum else {
            return .failure(.badLength(maximum: maximum))
        }
        let canonical = IPPrefix(address: address.masked(to: length), length: length)!
        guard canonical.address == address else { return .failure(.hostBitsSet(canonical: canonical)) }
        return .success(canonical)
    }

    public var family: IPAddress.Family { address.family }

    public func contains(_ other: IPAddress) -> Bool {
        other.family == family && other.masked(to: length) == address
    }

    public var description: String { "\(address)/\(length)" }

    public static func < (lhs: IPPrefix, rhs: IPPrefix) -> Bool {
        (lhs.address, lhs.length) < (rhs.address, rhs.length)
    }
}
