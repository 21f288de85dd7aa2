/// What a route does with a packet: `Unicast` forwards it, `Blackhole` drops
/// it, `Local` hands it to the node's own stack. Any other text still
/// decodes, so that it can be reported by validation.
public struct RouteType: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let unicast: RouteType = "Unicast"
    public static let blackhole: RouteType = "Blackhole"
    public static let local: RouteType = "Local"
    public static let allKnown: [RouteType] = [.unicast, .blackhole, .local]
}
