import NetAddress

/// Which client addresses a GatewayRoute serves, enforced in eBPF before
/// anything else: only `allow` when it is set, never `deny` (deny wins).
public struct GatewaySourceRanges: Codable, Hashable, Sendable {
    /// Canonical CIDRs (at most 1000); nil means every source.
    public var allow: [String]?
    /// Canonical CIDRs (at most 1000), always refused.
    public var deny: [String]?

    public static let maxRanges = 1000

    public init(allow: [String]? = nil, deny: [String]? = nil) {
        self.allow = allow
        self.deny = deny
    }

    private enum CodingKeys: String, CodingKey {
        case allow, deny
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        allow = try container.decodeIfPresent([String].self, forKey: .allow)
        deny = try container.decodeIfPresent([String].self, forKey: .deny)
    }

    /// `allow` parsed; nil when every source is allowed. Entries that are
    /// not canonical CIDRs are left out.
    public var allowPrefixes: [IPPrefix]? { allow.map { $0.compactMap { IPPrefix($0) } } }

    /// `deny` parsed; entries that are not canonical CIDRs are left out.
    public var denyPrefixes: [IPPrefix] { (deny ?? []).compactMap { IPPrefix($0) } }
}
