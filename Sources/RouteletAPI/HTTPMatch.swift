/// One match of a GatewayRule: every field given must hold (AND); an empty
/// match takes every request. HTTP and HTTPS listeners only.
public struct HTTPMatch: Codable, Hashable, Sendable {
    public var path: HTTPPathMatch?
    /// 0-16 headers, all of which must match; names are case-insensitive.
    public var headers: [HTTPHeaderMatch]?
    /// 0-16 query parameters, all of which must match; names are case-sensitive.
    public var queryParams: [HTTPQueryParamMatch]?
    /// One of ``allowedMethods``; nil means any method.
    public var method: String?

    public static let maxHeaders = 16
    public static let maxQueryParams = 16
    public static let allowedMethods = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]

    public init(path: HTTPPathMatch? = nil, headers: [HTTPHeaderMatch]? = nil, queryParams: [HTTPQueryParamMatch]? = nil,
                method: String? = nil) {
        self.path = path
        self.headers = headers
        self.queryParams = queryParams
        self.method = method
    }

    private enum CodingKeys: String, CodingKey {
        case path, headers, queryParams, method
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        path = try container.decodeIfPresent(HTTPPathMatch.self, forKey: .path)
        headers = try container.decodeIfPresent([HTTPHeaderMatch].self, forKey: .headers)
        queryParams = try container.decodeIfPresent([HTTPQueryParamMatch].self, forKey: .queryParams)
        method = try container.decodeIfPresent(String.self, forKey: .method)
    }
}

/// How a request path is compared: `Exact`, `PathPrefix` (whole path
/// elements; the default) or `RegularExpression` (Swift `Regex` syntax,
/// matched against the whole path). Any other text still decodes.
public struct HTTPPathMatchType: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let exact: HTTPPathMatchType = "Exact"
    public static let pathPrefix: HTTPPathMatchType = "PathPrefix"
    public static let regularExpression: HTTPPathMatchType = "RegularExpression"
    public static let allKnown: [HTTPPathMatchType] = [.exact, .pathPrefix, .regularExpression]
}

/// How a header or query value is compared: `Exact` (the default) or
/// `RegularExpression` (Swift `Regex` syntax, matched against the whole
/// value). Any other text still decodes.
public struct HTTPValueMatchType: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let exact: HTTPValueMatchType = "Exact"
    public static let regularExpression: HTTPValueMatchType = "RegularExpression"
    public static let allKnown: [HTTPValueMatchType] = [.exact, .regularExpression]
}

/// The path part of a match.
public struct HTTPPathMatch: Codable, Hashable, Sendable {
    /// Default PathPrefix.
    public var type: HTTPPathMatchType?
    /// A path starting with `/`, or a regular expression; required.
    public var value: String

    public static let maxValueLength = 1024

    public init(type: HTTPPathMatchType? = nil, value: String) {
        self.type = type
        self.value = value
    }

    private enum CodingKeys: String, CodingKey {
        case type, value
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decodeIfPresent(HTTPPathMatchType.self, forKey: .type)
        value = try container.decodeIfPresent(String.self, forKey: .value) ?? ""
    }

    /// The type with its default applied.
    public var effectiveType: HTTPPathMatchType { type ?? .pathPrefix }
}

/// A header a request must carry, with a value.
public struct HTTPHeaderMatch: Codable, Hashable, Sendable {
    /// An HTTP token (RFC 7230), compared case-insensitively.
    public var name: String
    public var value: String
    /// Default Exact.
    public var type: HTTPValueMatchType?

    public static let maxNameLength = 256
    public static let maxValueLength = 4096

    public init(name: String, value: String, type: HTTPValueMatchType? = nil) {
        self.name = name
        self.value = value
        self.type = type
    }

    private enum CodingKeys: String, CodingKey {
        case name, value, type
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
        value = try container.decodeIfPresent(String.self, forKey: .value) ?? ""
        type = try container.decodeIfPresent(HTTPValueMatchType.self, forKey: .type)
    }

    /// The type with its default applied.
    public var effectiveType: HTTPValueMatchType { type ?? .exact }
}

/// A query parameter a request must carry, with a value.
public struct HTTPQueryParamMatch: Codable, Hashable, Sendable {
    /// Compared case-sensitively; not empty.
    public var name: String
    public var value: String
    /// Default Exact.
    public var type: HTTPValueMatchType?

    public static let maxNameLength = 256
    public static let maxValueLength = 1024

    public init(name: String, value: String, type: HTTPValueMatchType? = nil) {
        self.name = name
        self.value = value
        self.type = type
    }

    private enum CodingKeys: String, CodingKey {
        case name, value, type
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
        value = try container.decodeIfPresent(String.self, forKey: .value) ?? ""
        type = try container.decodeIfPresent(HTTPValueMatchType.self, forKey: .type)
    }

    /// The type with its default applied.
    public var effectiveType: HTTPValueMatchType { type ?? .exact }
}
