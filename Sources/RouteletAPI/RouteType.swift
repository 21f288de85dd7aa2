/// What a route does with a packet: `Unicast` forwards it, `Blackhole` drops
/// it, `Local` hands it to the node's own stack. Any other text still
/// decodes, so that it can be reported by validation.
public struct RouteType: RawRepresentable, Codable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    public static let unicast: RouteType = "Unicast"
    public static let blackhole: RouteType = "Blackhole"
    public static let local: RouteType = "Local"
    public static let allKnown: [RouteType] = [.unicast, .blackhole, .local]

    public var isKnown: Bool { Self.allKnown.contains(self) }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
