/// What a GatewayRoute asks for: which nodes and interfaces, the listener,
/// the rules and their backends, and the policies applied before them.
public struct GatewayRouteSpec: Codable, Hashable, Sendable {
    /// Nodes the route applies to; nil means every node.
    public var nodeSelector: LabelSelector?
    /// Where listener traffic arrives: interface names or shell globs
    /// (0-64); nil or empty means every non-loopback link.
    public var interfaces: [String]?
    public var listener: GatewayListener
    /// Host names (or `*.` wildcards) the rules answer; HTTP and HTTPS only;
    /// nil means any host.
    public var hostnames: [String]?
    /// 1-16 rules; exactly one for TCP and UDP.
    public var rules: [GatewayRule]
    public var accessLog: GatewayAccessLog?
    public var sourceRanges: GatewaySourceRanges?
    public var rateLimit: GatewayRateLimit?

    public static let maxInterfaces = 64
    public static let maxHostnames = 16
    public static let ruleCountRange = 1...16

    public init(
        nodeSelector: LabelSelector? = nil, interfaces: [String]? = nil, listener: GatewayListener = GatewayListener(),
        hostnames: [String]? = nil, rules: [GatewayRule] = [], accessLog: GatewayAccessLog? = nil,
        sourceRanges: GatewaySourceRanges? = nil, rateLimit: GatewayRateLimit? = nil
    ) {
        self.nodeSelector = nodeSelector
        self.interfaces = interfaces
        self.listener = listener
        self.hostnames = hostnames
        self.rules = rules
        self.accessLog = accessLog
        self.sourceRanges = sourceRanges
        self.rateLimit = rateLimit
    }

    private enum CodingKeys: String, CodingKey {
        case nodeSelector, interfaces, listener, hostnames, rules, accessLog, sourceRanges, rateLimit
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        nodeSelector = try container.decodeIfPresent(LabelSelector.self, forKey: .nodeSelector)
        interfaces = try container.decodeIfPresent([String].self, forKey: .interfaces)
        listener = try container.decodeIfPresent(GatewayListener.self, forKey: .listener) ?? GatewayListener()
        hostnames = try container.decodeIfPresent([String].self, forKey: .hostnames)
        rules = try container.decodeIfPresent([GatewayRule].self, forKey: .rules) ?? []
        accessLog = try container.decodeIfPresent(GatewayAccessLog.self, forKey: .accessLog)
        sourceRanges = try container.decodeIfPresent(GatewaySourceRanges.self, forKey: .sourceRanges)
        rateLimit = try container.decodeIfPresent(GatewayRateLimit.self, forKey: .rateLimit)
    }

    /// The interfaces parsed; entries that are not valid patterns are left
    /// out. Empty means every non-loopback link (see ``interfaces``).
    public var interfacePatterns: [InterfacePattern] { (interfaces ?? []).compactMap { InterfacePattern($0) } }

    /// Whether the route binds every non-loopback link rather than a list.
    public var bindsEveryInterface: Bool { (interfaces ?? []).isEmpty }

    /// Whether the route applies to a node with `labels` (no selector: every node).
    public func selects(nodeLabels labels: [String: String]) -> Bool {
        nodeSelector?.matches(labels) ?? true
    }
}
