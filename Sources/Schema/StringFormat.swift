/// The string formats this module checks (`date-time`, `date`); others,
/// such as `int32` or `int64`, are accepted without a check.
enum StringFormat {
    static func isValid(_ text: String, format: String) -> Bool {
        switch format {
        case "date-time", "datetime": isDateTime(text)
        case "date": isDate(Array(text.utf8))
        default: true
        }
    }

    /// RFC 3339 and the variants Kubernetes' strfmt accepts: `T`, `t` or a
    /// space between date and time, seconds and zone optional, any fraction.
    private static func isDateTime(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 16, isDate(Array(bytes[0..<10])) else { return false }
        guard [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(bytes[10]) else { return false }
        var index = 11
        guard let hour = number(bytes, &index, digits: 2), hour <= 23, take(bytes, &index, ":"),
              let minute = number(bytes, &index, digits: 2), minute <= 59 else { return false }
        if take(bytes, &index, ":") {
            guard let second = number(bytes, &index, digits: 2), second <= 60 else { return false }
            if take(bytes, &index, ".") {
                let start = index
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
                guard index > start else { return false }
            }
        }
        if index == bytes.count { return true }
        if take(bytes, &index, "Z") || take(bytes, &index, "z") { return index == bytes.count }
        guard take(bytes, &index, "+") || take(bytes, &index, "-"),
              let zoneHour = number(bytes, &index, digits: 2), zoneHour <= 23 else { return false }
        _ = take(bytes, &index, ":")
        guard let zoneMinute = number(bytes, &index, digits: 2), zoneMinute <= 59 else { return false }
        return index == bytes.count
    }

    /// `YYYY-MM-DD` with a day that exists in that month.
    private static func isDate(_ bytes: [UInt8]) -> Bool {
        var index = 0
        guard bytes.count == 10, let year = number(bytes, &index, digits: 4), take(bytes, &index, "-"),
              let month = number(bytes, &index, digits: 2), take(bytes, &index, "-"),
              let day = number(bytes, &index, digits: 2), (1...12).contains(month) else { return false }
        let isLeap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, isLeap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return (1...days).contains(day)
    }

    private static func number(_ bytes: [UInt8], _ index: inout Int, digits: Int) -> Int? {
        guard index + digits <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[index..<index + digits] {
            guard isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        index += digits
        return value
    }

    private static func take(_ bytes: [UInt8], _ index: inout Int, _ character: Unicode.Scalar) -> Bool {
        guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
        index += 1
        return true
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
}
