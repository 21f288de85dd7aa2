/// A string field with a set of known values where any other text still
/// decodes, so that validation (not decoding) reports it with its field
/// path: `RouteType`, `GatewayProtocol`, the match types. Conformers list
/// `allKnown`; coding, `isKnown` and `description` come from here.
public protocol OpenEnum: RawRepresentable, Codable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible
where RawValue == String, StringLiteralType == String {
    static var allKnown: [Self] { get }
    init(rawValue: String)
}

extension OpenEnum {
    public init(stringLiteral value: String) { self.init(rawValue: value) }
    public var isKnown: Bool { Self.allKnown.contains(self) }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
