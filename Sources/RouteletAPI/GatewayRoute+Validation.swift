import NetAddress

extension GatewayRoute {
    /// The default cap on reported errors; see ``validate(maxErrors:)``.
    public static let defaultMaxErrors = 100

    /// Every problem with the resource, in field order. When there are more
    /// than `maxErrors`, the first `maxErrors` are returned followed by an
    /// entry "… and N more errors".
    public func validate(maxErrors: Int = defaultMaxErrors) -> [FieldError] {
        var errors = TypeMeta.validate(apiVersion: apiVersion, kind: kind, expectedAPIVersion: Self.apiVersion, expectedKind: Self.kind)
        errors += metadata.validate(at: "metadata")
        errors += metadata.validateNamespace(at: "metadata")
        errors += spec.validate(at: "spec")
        return errors.capped(at: maxErrors)
    }
}

extension GatewayRouteSpec {
    /// Every problem with the spec (not capped): the selector, interfaces,
    /// listener, hostnames, rules and the policies, each checked against
    /// the listener's protocol and address family where they depend on it.
    public func validate(at path: String = "spec") -> [FieldError] {
        var errors: [FieldError] = []
        if let nodeSelector { errors += nodeSelector.validate(at: "\(path).nodeSelector") }
        if let interfaces {
            if interfaces.count > Self.maxInterfaces {
                errors.append(FieldError(
                    path: "\(path).interfaces", message: "\(interfaces.count) interfaces are listed; at most \(Self.maxInterfaces) are allowed"))
            }
            errors += InterfacePattern.validate(interfaces, at: "\(path).interfaces")
        }

        errors += listener.validate(at: "\(path).listener")
        let proto = listener.effectiveProtocol
        let family = listener.addressValue?.family

        if let hostnames {
            if let proto, proto.isLayer4, !hostnames.isEmpty {
                errors.append(FieldError(
                    path: "\(path).hostnames", message: "\(proto.listenerPhrase) routes by address and port alone; remove \"hostnames\""))
            }
            if hostnames.count > Self.maxHostnames {
                errors.append(FieldError(
                    path: "\(path).hostnames", message: "\(hostnames.count) hostnames are listed; at most \(Self.maxHostnames) are allowed"))
            }
            var firstIndex: [String: Int] = [:]
            for (index, hostname) in hostnames.enumerated() {
                let field = "\(path).hostnames[\(index)]"
                if let problem = HTTPSyntax.hostnameProblem(hostname) {
                    errors.append(FieldError(path: field, message: problem))
                } else if let earlier = firstIndex[hostname] {
                    errors.append(FieldError(path: field, message: "\(quoted(hostname)) is already listed at \(path).hostnames[\(earlier)]"))
                } else {
                    firstIndex[hostname] = index
                }
            }
        }

        if rules.isEmpty {
            errors.append(FieldError(path: "\(path).rules", message: "at least 1 rule is required"))
        } else if let proto, proto.isLayer4, rules.count > 1 {
            errors.append(FieldError(
                path: "\(path).rules",
                message: "\(proto.listenerPhrase) takes exactly 1 rule (it routes by address and port alone); \(rules.count) are listed"))
        } else if rules.count > Self.ruleCountRange.upperBound {
            errors.append(FieldError(
                path: "\(path).rules", message: "\(rules.count) rules are listed; at most \(Self.ruleCountRange.upperBound) are allowed"))
        }
        for (index, rule) in rules.enumerated() {
            errors += rule.validate(at: "\(path).rules[\(index)]", listener: listener)
        }

        if let accessLog { errors += accessLog.validate(at: "\(path).accessLog", protocol: proto) }
        if let sourceRanges { errors += sourceRanges.validate(at: "\(path).sourceRanges", family: family, listener: listener.address) }
        if let rateLimit { errors += rateLimit.validate(at: "\(path).rateLimit") }
        return errors
    }
}

extension GatewayListener {
    /// Every problem with the listener: the address, the port, the protocol,
    /// and options given to a protocol that does not take them.
    public func validate(at path: String) -> [FieldError] {
        var errors: [FieldError] = []
        if let problem = Self.addressProblem(address, role: "listener", example: "10.96.0.10", family: nil, familyOf: "") {
            errors.append(FieldError(path: "\(path).address", message: problem))
        }
        if let problem = portProblem(port) { errors.append(FieldError(path: "\(path).port", message: problem)) }

        let expected = #"(expected "HTTP", "HTTPS", "TCP" or "UDP")"#
        if `protocol`.rawValue.isEmpty {
            errors.append(FieldError(path: "\(path).protocol", message: "a protocol is required \(expected)"))
        } else if !`protocol`.isKnown {
            errors.append(FieldError(path: "\(path).protocol", message: "\(quoted(`protocol`.rawValue)) is not a listener protocol \(expected)"))
        }
        guard let proto = effectiveProtocol else { return errors }

        if proto == .https, tls == nil {
            errors.append(FieldError(
                path: "\(path).tls", message: "an HTTPS listener needs \"tls\" with the secretName of a kubernetes.io/tls Secret"))
        } else if proto != .https, tls != nil {
            errors.append(FieldError(path: "\(path).tls", message: "\(proto.listenerPhrase) cannot have \"tls\"; only HTTPS listeners terminate TLS"))
        } else if let tls {
            if tls.secretName.isEmpty {
                errors.append(FieldError(path: "\(path).tls.secretName", message: "a Secret name is required (like \"users-cert\")"))
            } else if let problem = KubernetesNames.subdomainProblem(tls.secretName) {
                errors.append(FieldError(
                    path: "\(path).tls.secretName", message: "\(quoted(tls.secretName)) is not a valid Secret name: it \(problem)"))
            }
        }

        if proto.isHTTP {
            let layer4Only = [
                ("preserveClientIP", preserveClientIP != nil), ("maglevTableSize", maglevTableSize != nil),
                ("idleTimeoutSeconds", idleTimeoutSeconds != nil),
            ]
            for (field, present) in layer4Only where present {
                errors.append(FieldError(
                    path: "\(path).\(field)", message: "\(proto.listenerPhrase) cannot have \"\(field)\"; it is for TCP and UDP listeners only"))
            }
            return errors
        }
        if let maglevTableSize {
            let range = Self.maglevTableSizeRange
            if !range.contains(maglevTableSize) {
                errors.append(FieldError(
                    path: "\(path).maglevTableSize",
                    message: "maglevTableSize \(maglevTableSize) is out of range (a prime from \(range.lowerBound) to \(range.upperBound))"))
            } else if !Self.isPrime(maglevTableSize) {
                let below = stride(from: maglevTableSize - 1, to: 1, by: -1).first(where: Self.isPrime)!
                let above = ((maglevTableSize + 1)...).first(where: Self.isPrime)!
                let nearest = [below, above].filter(range.contains).map(String.init).joined(separator: " and ")
                errors.append(FieldError(
                    path: "\(path).maglevTableSize", message: "maglevTableSize \(maglevTableSize) is not a prime; the nearest primes are \(nearest)"))
            }
        }
        if let idleTimeoutSeconds, !Self.idleTimeoutRange.contains(idleTimeoutSeconds) {
            errors.append(FieldError(
                path: "\(path).idleTimeoutSeconds",
                message: "idleTimeoutSeconds \(idleTimeoutSeconds) is out of range (\(Self.idleTimeoutRange.lowerBound)-\(Self.idleTimeoutRange.upperBound))"))
        }
        return errors
    }

    /// Whether `number` is a prime (trial division; table sizes are small).
    static func isPrime(_ number: Int) -> Bool {
        guard number >= 2 else { return false }
        var divisor = 2
        while divisor * divisor <= number {
            if number % divisor == 0 { return false }
            divisor += 1
        }
        return true
    }

    /// nil for a unicast address (of `family`, when given); otherwise why not.
    /// `role` names what the address is for; `familyOf` names where `family` comes from.
    static func addressProblem(_ text: String, role: String, example: String, family: IPAddress.Family?, familyOf: String) -> String? {
        let examples = "like \(quoted(example)) or \"2001:db8::10\""
        if text.isEmpty { return "an address is required (an IP address \(examples))" }
        guard let address = IPAddress(text) else { return "\(quoted(text)) is not a valid IP address (expected an address \(examples))" }
        if let reason = address.nonUnicastReason { return "\(quoted(text)) is \(reason); a \(role) needs a unicast address" }
        if let family, address.family != family {
            return "\(quoted(text)) is \(address.family) but \(familyOf) is \(family)"
        }
        return nil
    }
}

extension GatewayProtocol {
    /// "an HTTP listener", "a TCP listener": the subject of a message.
    var listenerPhrase: String { "\(isHTTP ? "an" : "a") \(rawValue) listener" }
}

/// nil for a port in 1-65535; 0 (also what a missing port decodes to) is "required".
func portProblem(_ port: Int) -> String? {
    if port == 0 { return "a port is required (1-65535)" }
    if !GatewayListener.portRange.contains(port) { return "port \(port) is out of range (1-65535)" }
    return nil
}

extension IPAddress {
    /// Why traffic cannot be addressed to or forwarded to this address; nil
    /// for an ordinary unicast address.
    var nonUnicastReason: String? {
        switch self {
        case .v4(let value):
            if value == 0 { return "the unspecified address" }
            if value >> 24 == 127 { return "a loopback address" }
            if value >> 28 == 0xE { return "a multicast address" }
            if value == .max { return "the broadcast address" }
        case .v6(let high, let low):
            if high == 0, low == 0 { return "the unspecified address" }
            if high == 0, low == 1 { return "the loopback address" }
            if high >> 56 == 0xFF { return "a multicast address" }
        }
        return nil
    }
}

extension GatewayRule {
    /// Every problem with this rule: its matches (none for TCP and UDP) and
    /// its backends, checked against the listener.
    public func validate(at path: String, listener: GatewayListener) -> [FieldError] {
        var errors: [FieldError] = []
        let proto = listener.effectiveProtocol
        if let matches {
            if let proto, proto.isLayer4, !matches.isEmpty {
                errors.append(FieldError(
                    path: "\(path).matches", message: "\(proto.listenerPhrase) takes no matches (it routes by address and port alone); remove \"matches\""))
            } else if matches.count > Self.maxMatches {
                errors.append(FieldError(
                    path: "\(path).matches", message: "\(matches.count) matches are listed; at most \(Self.maxMatches) are allowed"))
            }
            for (index, match) in matches.enumerated() {
                errors += match.validate(at: "\(path).matches[\(index)]")
            }
        }
        if backends.isEmpty {
            errors.append(FieldError(path: "\(path).backends", message: "at least 1 backend is required"))
        } else if backends.count > Self.backendCountRange.upperBound {
            errors.append(FieldError(
                path: "\(path).backends", message: "\(backends.count) backends are listed; at most \(Self.backendCountRange.upperBound) are allowed"))
        }
        for (index, backend) in backends.enumerated() {
            errors += backend.validate(at: "\(path).backends[\(index)]", listener: listener)
        }
        return errors
    }
}

extension HTTPMatch {
    /// Every problem with this match: the path, headers, query parameters and method.
    public func validate(at path: String) -> [FieldError] {
        var errors: [FieldError] = []
        if let match = self.path { errors += match.validate(at: "\(path).path") }
        if let headers {
            if headers.count > Self.maxHeaders {
                errors.append(FieldError(
                    path: "\(path).headers", message: "\(headers.count) headers are listed; at most \(Self.maxHeaders) are allowed"))
            }
            var firstIndex: [String: Int] = [:]
            for (index, header) in headers.enumerated() {
                let field = "\(path).headers[\(index)]"
                if let problem = HTTPSyntax.headerNameProblem(header.name, maxLength: HTTPHeaderMatch.maxNameLength) {
                    errors.append(FieldError(path: "\(field).name", message: problem))
                } else if let earlier = firstIndex[header.name.lowercased()] {
                    errors.append(FieldError(
                        path: "\(field).name",
                        message: "\(quoted(header.name)) is already matched at \(path).headers[\(earlier)] (header names are case-insensitive)"))
                } else {
                    firstIndex[header.name.lowercased()] = index
                }
                errors += Self.valueErrors(
                    header.value, type: header.type, at: field, maxLength: HTTPHeaderMatch.maxValueLength, example: "admin")
            }
        }
        if let queryParams {
            if queryParams.count > Self.maxQueryParams {
                errors.append(FieldError(
                    path: "\(path).queryParams",
                    message: "\(queryParams.count) query parameters are listed; at most \(Self.maxQueryParams) are allowed"))
            }
            var firstIndex: [String: Int] = [:]
            for (index, param) in queryParams.enumerated() {
                let field = "\(path).queryParams[\(index)]"
                let maxName = HTTPQueryParamMatch.maxNameLength
                if param.name.isEmpty {
                    errors.append(FieldError(path: "\(field).name", message: "a query parameter name is required (like \"tier\")"))
                } else if param.name.utf8.count > maxName {
                    errors.append(FieldError(
                        path: "\(field).name", message: "\(quoted(param.name)) is \(param.name.utf8.count) bytes long; at most \(maxName) are allowed"))
                } else if let earlier = firstIndex[param.name] {
                    errors.append(FieldError(path: "\(field).name", message: "\(quoted(param.name)) is already matched at \(path).queryParams[\(earlier)]"))
                } else {
                    firstIndex[param.name] = index
                }
                errors += Self.valueErrors(
                    param.value, type: param.type, at: field, maxLength: HTTPQueryParamMatch.maxValueLength, example: "gold")
            }
        }
        if let method, !Self.allowedMethods.contains(method) {
            let hint = Self.allowedMethods.contains(method.uppercased()) ? "; did you mean \(quoted(method.uppercased()))?" : ""
            errors.append(FieldError(
                path: "\(path).method",
                message: "\(quoted(method)) is not a method a match can take (expected one of \(Self.allowedMethods.joined(separator: ", ")))\(hint)"))
        }
        return errors
    }

    /// Problems with a header's or query parameter's `value` and `type` at `path`.
    static func valueErrors(_ value: String, type: HTTPValueMatchType?, at path: String, maxLength: Int, example: String) -> [FieldError] {
        var errors: [FieldError] = []
        let type = type ?? .exact
        if !type.isKnown {
            errors.append(FieldError(
                path: "\(path).type", message: "\(quoted(type.rawValue)) is not a value match type (expected \"Exact\" or \"RegularExpression\")"))
        }
        let field = "\(path).value"
        if value.utf8.count > maxLength {
            errors.append(FieldError(path: field, message: "the value is \(value.utf8.count) bytes long; at most \(maxLength) are allowed"))
        } else if type == .regularExpression {
            if let problem = HTTPSyntax.regexProblem(value, example: ".*") { errors.append(FieldError(path: field, message: problem)) }
        } else if value.isEmpty {
            errors.append(FieldError(
                path: field, message: "a value is required (like \(quoted(example)); to match any value, use type RegularExpression and \".*\")"))
        } else if value.utf8.contains(where: { $0 == 0 || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }) {
            errors.append(FieldError(path: field, message: "\(quoted(value)) contains a line break or NUL, which a request cannot carry"))
        }
        return errors
    }
}

extension HTTPPathMatch {
    /// Problems with the type and the value: a path for Exact and
    /// PathPrefix, a regular expression that compiles for RegularExpression.
    public func validate(at path: String) -> [FieldError] {
        var errors: [FieldError] = []
        let type = effectiveType
        if !type.isKnown {
            errors.append(FieldError(
                path: "\(path).type",
                message: "\(quoted(type.rawValue)) is not a path match type (expected \"Exact\", \"PathPrefix\" or \"RegularExpression\")"))
        }
        let field = "\(path).value"
        if value.utf8.count > Self.maxValueLength {
            errors.append(FieldError(path: field, message: "the path is \(value.utf8.count) bytes long; at most \(Self.maxValueLength) are allowed"))
        } else if type == .regularExpression {
            if let problem = HTTPSyntax.regexProblem(value, example: "^/users/[0-9]+$") { errors.append(FieldError(path: field, message: problem)) }
        } else if let problem = HTTPSyntax.pathProblem(value) {
            errors.append(FieldError(path: field, message: problem))
        }
        return errors
    }
}

extension GatewayBackend {
    /// Every problem with this backend: exactly one of a Service and static
    /// addresses (of the listener's family, with a port), and the weight.
    public func validate(at path: String, listener: GatewayListener) -> [FieldError] {
        var errors: [FieldError] = []
        switch (service, addresses) {
        case (nil, nil):
            errors.append(FieldError(path: path, message: "a backend needs \"service\" or \"addresses\""))
        case (_?, _?):
            errors.append(FieldError(path: path, message: "a backend has either \"service\" or \"addresses\", not both"))
        default:
            break
        }
        if let service {
            if service.name.isEmpty {
                errors.append(FieldError(path: "\(path).service.name", message: "a Service name is required (like \"user-service\")"))
            } else if let problem = KubernetesNames.serviceNameProblem(service.name) {
                errors.append(FieldError(
                    path: "\(path).service.name", message: "\(quoted(service.name)) is not a valid Service name: it \(problem)"))
            }
            if let problem = portProblem(service.port) { errors.append(FieldError(path: "\(path).service.port", message: problem)) }
            if addresses == nil, port != nil {
                errors.append(FieldError(path: "\(path).port", message: "\"port\" goes with \"addresses\"; a Service backend uses service.port"))
            }
        }
        if let addresses {
            if addresses.isEmpty {
                errors.append(FieldError(path: "\(path).addresses", message: "at least 1 address is required"))
            } else if addresses.count > Self.maxAddresses {
                errors.append(FieldError(
                    path: "\(path).addresses", message: "\(addresses.count) addresses are listed; at most \(Self.maxAddresses) are allowed"))
            }
            let family = listener.addressValue?.family
            var firstIndex: [IPAddress: Int] = [:]
            for (index, text) in addresses.enumerated() {
                let field = "\(path).addresses[\(index)]"
                if let problem = GatewayListener.addressProblem(
                    text, role: "backend", example: "10.2.0.10", family: family, familyOf: "the listener address \(quoted(listener.address))") {
                    errors.append(FieldError(path: field, message: problem))
                } else if let address = IPAddress(text) {
                    if let earlier = firstIndex[address] {
                        errors.append(FieldError(path: field, message: "\(quoted(text)) is already listed at \(path).addresses[\(earlier)]"))
                    } else {
                        firstIndex[address] = index
                    }
                }
            }
            if let port {
                if let problem = portProblem(port) { errors.append(FieldError(path: "\(path).port", message: problem)) }
            } else {
                errors.append(FieldError(path: "\(path).port", message: "a port is required with \"addresses\" (1-65535)"))
            }
        }
        if let weight, !Self.weightRange.contains(weight) {
            errors.append(FieldError(
                path: "\(path).weight",
                message: "weight \(weight) is out of range (\(Self.weightRange.lowerBound)-\(Self.weightRange.upperBound))"))
        }
        return errors
    }
}

extension GatewayAccessLog {
    /// Problems with the header names: HTTP tokens, at most 16, distinct;
    /// none for UDP, which carries no HTTP.
    public func validate(at path: String, protocol proto: GatewayProtocol?) -> [FieldError] {
        var errors: [FieldError] = []
        if proto == .udp, !headers.isEmpty {
            errors.append(FieldError(path: "\(path).headers", message: "a UDP listener carries no HTTP headers to log; remove \"headers\""))
        }
        if headers.count > Self.maxHeaders {
            errors.append(FieldError(
                path: "\(path).headers", message: "\(headers.count) headers are listed; at most \(Self.maxHeaders) are allowed"))
        }
        var firstIndex: [String: Int] = [:]
        for (index, header) in headers.enumerated() {
            let field = "\(path).headers[\(index)]"
            if let problem = HTTPSyntax.headerNameProblem(header, maxLength: HTTPHeaderMatch.maxNameLength, example: "User-Agent") {
                errors.append(FieldError(path: field, message: problem))
            } else if let earlier = firstIndex[header.lowercased()] {
                errors.append(FieldError(
                    path: field, message: "\(quoted(header)) is already listed at \(path).headers[\(earlier)] (header names are case-insensitive)"))
            } else {
                firstIndex[header.lowercased()] = index
            }
        }
        return errors
    }
}

extension GatewaySourceRanges {
    /// Problems with the CIDRs: canonical, of the listener's family, at most
    /// 1000 per list, distinct; and an `allow` list that would refuse everyone.
    public func validate(at path: String, family: IPAddress.Family?, listener: String) -> [FieldError] {
        var errors: [FieldError] = []
        for (name, list) in [("allow", allow), ("deny", deny)] {
            guard let list else { continue }
            let listPath = "\(path).\(name)"
            if name == "allow", list.isEmpty {
                errors.append(FieldError(
                    path: listPath, message: "an empty allow list would refuse every client; omit \"allow\" to allow every source"))
            } else if list.count > Self.maxRanges {
                errors.append(FieldError(path: listPath, message: "\(list.count) ranges are listed; at most \(Self.maxRanges) are allowed"))
            }
            var firstIndex: [IPPrefix: Int] = [:]
            for (index, text) in list.enumerated() {
                let field = "\(listPath)[\(index)]"
                if text.isEmpty {
                    errors.append(FieldError(path: field, message: "a CIDR is required (like \"198.51.100.0/24\" or \"2001:db8::/32\")"))
                } else if let problem = IPPrefix.problem(text) {
                    errors.append(FieldError(path: field, message: problem))
                } else if let prefix = IPPrefix(text) {
                    if let family, prefix.family != family {
                        errors.append(FieldError(
                            path: field,
                            message: "\(quoted(text)) is \(prefix.family) but the listener address \(quoted(listener)) is \(family); it would never match"))
                    } else if let earlier = firstIndex[prefix] {
                        errors.append(FieldError(path: field, message: "\(quoted(text)) is already listed at \(listPath)[\(earlier)]"))
                    } else {
                        firstIndex[prefix] = index
                    }
                }
            }
        }
        return errors
    }
}

extension GatewayRateLimit {
    /// Problems with the rate and the burst (at least the rate, so that a
    /// second's worth of requests fits in the bucket).
    public func validate(at path: String) -> [FieldError] {
        var errors: [FieldError] = []
        let range = Self.requestsPerSecondRange
        if requestsPerSecond == 0 {
            errors.append(FieldError(
                path: "\(path).requestsPerSecond", message: "requestsPerSecond is required (\(range.lowerBound)-\(range.upperBound))"))
        } else if !range.contains(requestsPerSecond) {
            errors.append(FieldError(
                path: "\(path).requestsPerSecond",
                message: "requestsPerSecond \(requestsPerSecond) is out of range (\(range.lowerBound)-\(range.upperBound))"))
        }
        if let burst {
            if burst < 1 || burst > Self.maxBurst {
                errors.append(FieldError(path: "\(path).burst", message: "burst \(burst) is out of range (1-\(Self.maxBurst))"))
            } else if range.contains(requestsPerSecond), burst < requestsPerSecond {
                errors.append(FieldError(
                    path: "\(path).burst",
                    message: "burst \(burst) is below requestsPerSecond \(requestsPerSecond); the bucket must hold at least one second of requests"))
            }
        }
        return errors
    }
}
