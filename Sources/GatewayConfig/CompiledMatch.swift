/// One match of a rule, ready to test against requests: every condition
/// given must hold. Shared by the index buckets it sits in.
final class CompiledMatch: Sendable {
    let rule: MatchedRule
    let path: PathCondition
    /// Compared as sent (methods are case-sensitive, RFC 9110 9.1).
    let method: String?
    let headers: [ValueCondition]
    let queryParams: [ValueCondition]
    let precedence: Precedence

    /// nil, after telling `problem` why, when the match cannot be used (a
    /// regular expression that does not compile, an unknown match type, a
    /// path that does not start with '/').
    init?(_ match: HTTPRequestMatch, rule: MatchedRule, precedence: Precedence, problem: (String) -> Void) {
        guard let path = PathCondition(match.path, problem: { problem("path: \($0)") }) else { return nil }
        // The Gateway API: of several conditions on one name, only the first counts.
        var headers: [ValueCondition] = []
        for (index, header) in match.headers.enumerated() {
            let name = header.name.lowercased()
            guard !headers.contains(where: { $0.name == name }) else { continue }
            guard let condition = ValueCondition(name: name, header, problem: { problem("headers[\(index)]: \($0)") }) else { return nil }
            headers.append(condition)
        }
        var queryParams: [ValueCondition] = []
        for (index, parameter) in match.queryParams.enumerated() {
            guard !queryParams.contains(where: { bytesEqual($0.name, parameter.name) }) else { continue }
            guard let condition = ValueCondition(name: parameter.name, parameter, problem: { problem("queryParams[\(index)]: \($0)") })
            else { return nil }
            queryParams.append(condition)
        }
        self.rule = rule
        self.path = path
        self.method = match.method
        self.headers = headers
        self.queryParams = queryParams
        var precedence = precedence
        precedence.pathRank = path.rank
        precedence.hasMethod = match.method != nil
        precedence.headerCount = headers.count
        precedence.queryCount = queryParams.count
        self.precedence = precedence
    }

    /// Whether the method, headers and query parameters hold (the path is
    /// checked by whoever found this match).
    func holdsBesidesPath<H>(_ request: RoutingRequest<H>, _ view: RequestView) -> Bool {
        if let method, !bytesEqual(method, request.method) { return false }
        for header in headers {
            guard let value = request.headers.value(forLowercasedName: header.name), header.value.holds(value) else { return false }
        }
        for parameter in queryParams {
            guard let raw = view.firstQueryValue(named: parameter.name) else { return false }
            switch parameter.value {
            case .exact(let expected):
                guard RequestView.decodedEquals(raw, expected) else { return false }
            case .regularExpression(let regex):
                guard regex.wholeMatches(RequestView.decoded(raw)) else { return false }
            }
        }
        return true
    }
}

/// The path part of a match.
enum PathCondition: Sendable {
    /// The whole path, byte for byte.
    case exact(String)
    /// Whole path elements: the value without its trailing '/' ("" for "/"),
    /// and its elements ([] for "/").
    case prefix(String, elements: [String])
    /// The whole path.
    case regularExpression(SharedRegex)

    /// A match without a path is a PathPrefix "/".
    init?(_ config: HTTPPathMatchConfig?, problem: (String) -> Void) {
        guard let config else {
            self = .prefix("", elements: [])
            return
        }
        switch config.type {
        case "Exact", "PathPrefix":
            guard config.value.hasPrefix("/") else {
                problem("\(quoted(config.value)) does not start with '/'; the match is dropped")
                return nil
            }
            if config.type == "Exact" {
                self = .exact(config.value)
                return
            }
            let trimmed = config.value.hasSuffix("/") ? String(config.value.dropLast()) : config.value
            let elements = trimmed.isEmpty ? [] : trimmed.utf8.dropFirst().split(separator: slash, omittingEmptySubsequences: false)
                .map { String(decoding: $0, as: UTF8.self) }
            self = .prefix(trimmed, elements: elements)
        case "RegularExpression":
            guard let regex = SharedRegex(config.value, problem: problem) else { return nil }
            self = .regularExpression(regex)
        default:
            problem("unknown path match type \(quoted(config.type)) (expected Exact, PathPrefix or RegularExpression); the match is dropped")
            return nil
        }
    }

    var rank: Int {
        switch self {
        case .exact: Int.max
        case .prefix(let trimmed, _): 1 + trimmed.utf8.count
        case .regularExpression: 0
        }
    }
}

/// A header or query parameter that must be present with a value.
struct ValueCondition: Sendable {
    /// Header names lowercase; query parameter names as written.
    let name: String
    let value: ValueMatch

    init?(name: String, _ config: HTTPValueMatchConfig, problem: (String) -> Void) {
        self.name = name
        switch config.type {
        case "Exact":
            value = .exact(config.value)
        case "RegularExpression":
            guard let regex = SharedRegex(config.value, problem: problem) else { return nil }
            value = .regularExpression(regex)
        default:
            problem("unknown match type \(quoted(config.type)) (expected Exact or RegularExpression); the match is dropped")
            return nil
        }
    }
}

enum ValueMatch: Sendable {
    case exact(String)
    case regularExpression(SharedRegex)

    func holds(_ value: String) -> Bool {
        switch self {
        case .exact(let expected): bytesEqual(expected, value)
        case .regularExpression(let regex): regex.wholeMatches(value)
        }
    }
}

/// A regular expression compiled once and matched from every thread.
///
/// `@unchecked Sendable` because `Regex` is not declared Sendable (a regex
/// built from components may hold closures). This one is built from a
/// pattern string only and never mutated; matching reads its program, whose
/// one lazy lowering is published with an atomic initialize-once
/// (`Regex.Program.loweredProgram` in swift-experimental-string-processing),
/// and which `init` triggers before the regex is shared.
struct SharedRegex: @unchecked Sendable {
    private let regex: Regex<AnyRegexOutput>

    init?(_ pattern: String, problem: (String) -> Void) {
        do {
            regex = try Regex(pattern)
        } catch {
            problem("the regular expression \(quoted(pattern)) does not compile (\(error)); the match is dropped")
            return nil
        }
        _ = wholeMatches("")
    }

    func wholeMatches(_ text: String) -> Bool {
        (try? regex.wholeMatch(in: text)) != nil
    }
}

func quoted(_ text: String) -> String {
    "\"\(text.count > 80 ? text.prefix(80) + "..." : text[...])\""
}
