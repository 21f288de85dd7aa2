import NetAddress

extension IPPrefix {
    /// nil for a canonical CIDR; otherwise a message naming the (non-empty)
    /// text and the fix, e.g. that host bits are set.
    static func problem(_ text: String) -> String? {
        switch IPPrefix.parse(text) {
        case .success:
            return nil
        case .failure(.hostBitsSet(let canonical)):
            return "\(quoted(text)) has host bits set; did you mean \"\(canonical)\"?"
        case .failure(.missingLength):
            if let address = IPAddress(text) {
                return "\(quoted(text)) has no prefix length (expected address/length, like \"\(address)/\(address.family.bitCount)\")"
            }
        case .failure(.badLength(let maximum)):
            let lengthText = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).last ?? ""
            if let length = Int(lengthText), length < 0 || length > maximum {
                let family = maximum == 32 ? "IPv4" : "IPv6"
                return "prefix length \(length) is out of range for \(family) (0-\(maximum))"
            }
        case .failure(.badAddress):
            break
        }
        return "\(quoted(text)) is not a valid CIDR (expected address/length, like \"10.0.0.0/8\")"
    }
}
