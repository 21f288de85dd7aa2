import Foundation

/// The parts of a request the router compares, as the request's own bytes:
/// the host as route hostnames are written (lowercase, no port, no trailing
/// dot), the path and the raw query. Handed out by `with`, valid inside its
/// closure only; nothing is copied except a host that must be lowercased.
struct RequestView {
    /// Empty when the request named no host.
    let host: UnsafeBufferPointer<UInt8>
    /// Without the query; "/" for an absolute-form target with no path.
    let path: UnsafeBufferPointer<UInt8>
    /// After the '?', before any '#'; still percent-encoded.
    let query: UnsafeBufferPointer<UInt8>

    static func with<R>(host: String?, target: String, _ body: (RequestView) -> R) -> R {
        var target = target
        return target.withUTF8 { target in
            let parts = split(target: target)
            // RFC 9112 3.2.2: with an absolute-form target, its authority is the host.
            if let authority = parts.authority {
                return withNormalizedHost(droppingUserInfo(authority)) { body(RequestView(host: $0, path: parts.path, query: parts.query)) }
            }
            guard var host else { return body(RequestView(host: .init(start: nil, count: 0), path: parts.path, query: parts.query)) }
            return host.withUTF8 { host in
                withNormalizedHost(host) { body(RequestView(host: $0, path: parts.path, query: parts.query)) }
            }
        }
    }

    /// "http://h:8080/p?q#f" -> ("h:8080", "/p", "q"); "/p?q" -> (nil, "/p", "q").
    static func split(target: UnsafeBufferPointer<UInt8>)
        -> (authority: UnsafeBufferPointer<UInt8>?, path: UnsafeBufferPointer<UInt8>, query: UnsafeBufferPointer<UInt8>) {
        var pathStart = 0
        var authority: UnsafeBufferPointer<UInt8>?
        if let schemeEnd = schemeEnd(target) {
            let authorityStart = schemeEnd + 3
            let authorityEnd = target[authorityStart...].firstIndex { $0 == slash || $0 == question || $0 == hash } ?? target.count
            authority = UnsafeBufferPointer(rebasing: target[authorityStart..<authorityEnd])
            pathStart = authorityEnd
        }
        let pathEnd = target[pathStart...].firstIndex { $0 == question || $0 == hash } ?? target.count
        var path = UnsafeBufferPointer(rebasing: target[pathStart..<pathEnd])
        if authority != nil && path.isEmpty { path = rootPath }
        var query = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
        if pathEnd < target.count && target[pathEnd] == question {
            let queryEnd = target[(pathEnd + 1)...].firstIndex(of: hash) ?? target.count
            query = UnsafeBufferPointer(rebasing: target[(pathEnd + 1)..<queryEnd])
        }
        return (authority, path, query)
    }

    /// A "/" that outlives every request (a static string's storage).
    private static var rootPath: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: ("/" as StaticString).utf8Start, count: 1) }

    /// The offset of "://" when `target` starts with an RFC 3986 scheme followed by it.
    private static func schemeEnd(_ target: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let first = target.first, isASCIILetter(first) else { return nil }
        let colon = target.firstIndex { !(isASCIILetter($0) || isASCIIDigit($0) || $0 == plus || $0 == minus || $0 == dot) } ?? target.count
        guard target[colon...].starts(with: "://".utf8) else { return nil }
        return colon
    }

    private static func droppingUserInfo(_ authority: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        guard let at = authority.lastIndex(of: UInt8(ascii: "@")) else { return authority }
        return UnsafeBufferPointer(rebasing: authority[(at + 1)...])
    }

    /// `body` with the host a route hostname is compared with: without port,
    /// without one trailing dot, ASCII-lowercased (a copy on the stack, only
    /// when it has capitals); an IPv6 literal keeps its brackets.
    static func withNormalizedHost<R>(_ raw: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var end = raw.count
        if raw.first == UInt8(ascii: "[") {
            if let close = raw.firstIndex(of: UInt8(ascii: "]")) { end = close + 1 }
        } else if let colon = raw.firstIndex(of: UInt8(ascii: ":")) {
            end = colon
        }
        if end > 0 && raw[end - 1] == dot { end -= 1 }
        let host = UnsafeBufferPointer(rebasing: raw[0..<end])
        guard host.contains(where: isASCIIUppercase) else { return body(host) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: end) { lowered in
            for index in 0..<end { lowered[index] = isASCIIUppercase(host[index]) ? host[index] | 0x20 : host[index] }
            return body(UnsafeBufferPointer(lowered))
        }
    }

    /// The raw (still encoded) value of the first query parameter whose
    /// decoded name is `name`; empty for a name without '='.
    func firstQueryValue(named name: String) -> UnsafeBufferPointer<UInt8>? {
        var pairStart = 0
        while pairStart < query.count {
            let pairEnd = query[pairStart...].firstIndex(of: ampersand) ?? query.count
            let equals = query[pairStart..<pairEnd].firstIndex(of: UInt8(ascii: "=")) ?? pairEnd
            if pairEnd > pairStart && Self.decodedEquals(UnsafeBufferPointer(rebasing: query[pairStart..<equals]), name) {
                return UnsafeBufferPointer(rebasing: query[min(equals + 1, pairEnd)..<pairEnd])
            }
            pairStart = pairEnd + 1
        }
        return nil
    }

    /// Whether `raw`, percent-decoded with '+' as space, is `expected` byte for byte.
    static func decodedEquals(_ raw: UnsafeBufferPointer<UInt8>, _ expected: String) -> Bool {
        var expected = expected
        return expected.withUTF8 { expected in
            var position = 0
            var mismatch = false
            forEachDecodedByte(raw) { byte in
                guard position < expected.count, expected[position] == byte else { mismatch = true; return false }
                position += 1
                return true
            }
            return !mismatch && position == expected.count
        }
    }

    /// `raw` percent-decoded with '+' as space; invalid UTF-8 is repaired.
    static func decoded(_ raw: UnsafeBufferPointer<UInt8>) -> String {
        guard raw.contains(where: { $0 == percent || $0 == plus }) else { return String(decoding: raw, as: UTF8.self) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.count)
        forEachDecodedByte(raw) { bytes.append($0); return true }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Calls `body` with each decoded byte until it returns false. A '%' not
    /// followed by two hex digits stands for itself.
    private static func forEachDecodedByte(_ raw: UnsafeBufferPointer<UInt8>, _ body: (UInt8) -> Bool) {
        var index = 0
        while index < raw.count {
            var byte = raw[index]
            index += 1
            if byte == plus {
                byte = UInt8(ascii: " ")
            } else if byte == percent, index + 1 < raw.count, let high = hexValue(raw[index]), let low = hexValue(raw[index + 1]) {
                byte = high << 4 | low
                index += 2
            }
            guard body(byte) else { return }
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

let slash = UInt8(ascii: "/")
let dot = UInt8(ascii: ".")
private let question = UInt8(ascii: "?")
private let hash = UInt8(ascii: "#")
private let ampersand = UInt8(ascii: "&")
private let percent = UInt8(ascii: "%")
private let plus = UInt8(ascii: "+")
private let minus = UInt8(ascii: "-")

private func isASCIILetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") }
private func isASCIIDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
private func isASCIIUppercase(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") }

/// Byte equality (no Unicode normalisation).
func bytesEqual(_ lhs: UnsafeBufferPointer<UInt8>, _ rhs: UnsafeBufferPointer<UInt8>) -> Bool {
    lhs.count == rhs.count && (lhs.count == 0 || memcmp(lhs.baseAddress!, rhs.baseAddress!, lhs.count) == 0)
}

func bytesEqual(_ lhs: String, _ rhs: UnsafeBufferPointer<UInt8>) -> Bool {
    var lhs = lhs
    return lhs.withUTF8 { bytesEqual($0, rhs) }
}

func bytesEqual(_ lhs: String, _ rhs: String) -> Bool {
    var rhs = rhs
    return rhs.withUTF8 { bytesEqual(lhs, $0) }
}
