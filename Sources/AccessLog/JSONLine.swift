import Foundation

/// The bytes of one access-log line as they are appended.
public struct JSONLine: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {
        bytes.reserveCapacity(384)
    }

    public mutating func raw(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// A JSON string: quotes, backslashes and control characters escaped.
    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case UInt8(ascii: "\n"): raw("\\n")
            case UInt8(ascii: "\r"): raw("\\r")
            case UInt8(ascii: "\t"): raw("\\t")
            case 0..<0x20, 0x7F:
                raw("\\u00")
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func integer(_ value: Int) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        digits(value.magnitude, width: 1)
    }

    /// Seconds as milliseconds with three decimals ("12.345").
    public mutating func milliseconds(_ seconds: Double) {
        let micros = Int((max(seconds, 0) * 1_000_000).rounded())
        digits(UInt(micros / 1000), width: 1)
        bytes.append(UInt8(ascii: "."))
        digits(UInt(micros % 1000), width: 3)
    }

    /// "2025-06-01T12:00:00.123Z", without the quotes.
    public mutating func rfc3339(_ date: Date) {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(interval.rounded(.down))
        let millis = min(999, max(0, Int((interval - Double(seconds)) * 1000)))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        digits(UInt(parts.tm_year + 1900), width: 4)
        bytes.append(UInt8(ascii: "-"))
        digits(UInt(parts.tm_mon + 1), width: 2)
        bytes.append(UInt8(ascii: "-"))
        digits(UInt(parts.tm_mday), width: 2)
        bytes.append(UInt8(ascii: "T"))
        digits(UInt(parts.tm_hour), width: 2)
        bytes.append(UInt8(ascii: ":"))
        digits(UInt(parts.tm_min), width: 2)
        bytes.append(UInt8(ascii: ":"))
        digits(UInt(parts.tm_sec), width: 2)
        bytes.append(UInt8(ascii: "."))
        digits(UInt(millis), width: 3)
        bytes.append(UInt8(ascii: "Z"))
    }

    /// Decimal digits, zero-padded to at least `width`.
    private mutating func digits(_ value: UInt, width: Int) {
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: UInt.max has 20 digits
        withUnsafeMutableBytes(of: &scratch) { buffer in
            var index = buffer.count
            var rest = value
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0 || buffer.count - index < width
            bytes.append(contentsOf: buffer[index...])
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
