/// The status of a condition: "True", "False" or "Unknown". Any other text
/// still decodes, so that a bad value can be reported rather than rejected.
public struct ConditionStatus: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let `true`: ConditionStatus = "True"
    public static let `false`: ConditionStatus = "False"
    public static let unknown: ConditionStatus = "Unknown"

    public static let allKnown: [ConditionStatus] = [.true, .false, .unknown]
}

/// One observation about a resource (metav1.Condition), e.g. `Programmed`
/// is "False" because of `NodesPending`.
public struct Condition: Codable, Hashable, Sendable {
    public var type: String
    public var status: ConditionStatus
    public var reason: String?
    public var message: String?
    public var observedGeneration: Int64?
    /// RFC 3339 text, e.g. "2024-05-01T10:00:00Z".
    public var lastTransitionTime: String?

    public init(
        type: String, status: ConditionStatus, reason: String? = nil, message: String? = nil,
        observedGeneration: Int64? = nil, lastTransitionTime: String? = nil
    ) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.observedGeneration = observedGeneration
        self.lastTransitionTime = lastTransitionTime
    }

    private enum CodingKeys: String, CodingKey {
        case type, status, reason, message, observedGeneration, lastTransitionTime
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decodeIfPresent(String.self, forKey: .type) ?? ""
        status = try container.decodeIfPresent(ConditionStatus.self, forKey: .status) ?? .unknown
        reason = try container.decodeIfPresent(String.self, forKey: .reason)
        message = try container.decodeIfPresent(String.self, forKey: .message)
        observedGeneration = try container.decodeIntegerIfPresent(Int64.self, forKey: .observedGeneration)
        lastTransitionTime = try container.decodeIfPresent(String.self, forKey: .lastTransitionTime)
    }
}
