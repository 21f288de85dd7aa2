import NetAddress

extension RouteTable {
    /// The default cap on reported errors; see ``validate(maxErrors:)``.
    public static let defaultMaxErrors = 100

    /// Every problem with the resource, in field order. When there are more
    /// than `maxErrors`, the first `maxErrors` are returned followed by an
    /// entry "… and N more errors".
    public func validate(maxErrors: Int = defaultMaxErrors) -> [FieldError] {
        var errors = TypeMeta.validate(apiVersion: apiVersion, kind: kind, expectedAPIVersion: Self.apiVersion, expectedKind: Self.kind)
        errors += metadata.validate(at: "metadata")
        errors += spec.validate(at: "spec")
        return errors.capped(at: maxErrors)
    }
}

extension RouteTableSpec {
    /// Every problem with the spec (not capped): the selector, the
    /// interfaces, each route, and duplicate routes.
    public func validate(at path: String = "spec") -> [FieldError] {
        var errors: [FieldError] = []
        if let nodeSelector { errors += nodeSelector.validate(at: "\(path).nodeSelector") }

        if interfaces.isEmpty {
            errors.append(FieldError(
                path: "\(path).interfaces", message: "at least 1 interface is required (a name like \"eth1\" or a pattern like \"veth*\")"))
        } else if interfaces.count > Self.interfaceCountRange.upperBound {
            errors.append(FieldError(
                path: "\(path).interfaces",
                message: "\(interfaces.count) interfaces are listed; at most \(Self.interfaceCountRange.upperBound) are allowed"))
        }
        errors += InterfacePattern.validate(interfaces, at: "\(path).interfaces")

        if routes.count > Self.maxRoutes {
            errors.append(FieldError(
                path: "\(path).routes", message: "\(routes.count) routes are listed; at most \(Self.maxRoutes) are allowed"))
        }
        var owners: [RouteIdentity: Int] = [:]
        for (index, route) in routes.enumerated() {
            let field = "\(path).routes[\(index)]"
            errors += route.validate(at: field)
            var duplicateOf: Int?
            for identity in route.identities() {
                if let owner = owners[identity], owner != index {
                    duplicateOf = duplicateOf.map { min($0, owner) } ?? owner
                } else if owners[identity] == nil {
                    owners[identity] = index
                }
            }
            if let duplicateOf {
                errors.append(FieldError(
                    path: field, message: "duplicates \(path).routes[\(duplicateOf)] (same destination, metric and next hop)"))
            }
        }
        return errors
    }
}

/// One (destination, metric, next hop) a route contributes; two routes with
/// a common identity are duplicates.
struct RouteIdentity: Hashable {
    var destination: IPPrefix
    var metric: UInt32
    /// "Blackhole", "Local", or the gateway and interface of one next hop.
    var nextHop: String
}

extension Route {
    /// The identities of a route whose destination and type are valid.
    func identities() -> [RouteIdentity] {
        guard let prefix = destinationPrefix, effectiveType.isKnown else { return [] }
        func identity(_ hop: String) -> RouteIdentity {
            RouteIdentity(destination: prefix, metric: effectiveMetric, nextHop: hop)
        }
        func hop(gateway: String?, interface: String) -> String {
            let via = gateway.map { text in IPAddress(text)?.description ?? text } ?? "on-link"
            return "\(via) dev \(interface)"
        }
        guard effectiveType == .unicast else { return [identity(effectiveType.rawValue)] }
        if let nexthops {
            return nexthops.map { identity(hop(gateway: $0.gateway, interface: $0.interface)) }
        }
        guard let interface else { return [] }
        return [identity(hop(gateway: gateway, interface: interface))]
    }

    /// The address family of the destination when its address part parses,
    /// even if the CIDR is otherwise wrong (to check gateways against it).
    var destinationFamily: IPAddress.Family? {
        let address = destination.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return IPAddress(address)?.family
    }

    /// Every problem with this route on its own (duplicates are the spec's concern).
    public func validate(at path: String) -> [FieldError] {
        var errors: [FieldError] = []
        if let problem = Self.destinationProblem(destination) {
            errors.append(FieldError(path: "\(path).destination", message: problem))
        }
        let family = destinationFamily
        if let gateway, let problem = Self.gatewayProblem(gateway, destination: destination, family: family) {
            errors.append(FieldError(path: "\(path).gateway", message: problem))
        }
        if let interface, let problem = InterfacePattern.exactNameProblem(interface) {
            errors.append(FieldError(path: "\(path).interface", message: problem.message))
        }
        let type = effectiveType
        if !type.isKnown {
            errors.append(FieldError(
                path: "\(path).type", message: "\(quoted(type.rawValue)) is not a route type (expected \"Unicast\", \"Blackhole\" or \"Local\")"))
        }
        if type == .unicast {
            if nexthops != nil, gateway != nil || interface != nil {
                errors.append(FieldError(path: path, message: "\"gateway\" and \"interface\" cannot be used together with \"nexthops\""))
            } else if nexthops == nil, interface == nil {
                errors.append(FieldError(path: path, message: "a Unicast route needs \"interface\" or \"nexthops\""))
            }
        } else if type.isKnown {
            for (field, present) in [("gateway", gateway != nil), ("interface", interface != nil), ("nexthops", nexthops != nil)] where present {
                errors.append(FieldError(
                    path: "\(path).\(field)", message: "a \(type) route cannot have \"\(field)\"; remove it or use type Unicast"))
            }
        }
        if let nexthops, type == .unicast || !type.isKnown {
            if nexthops.isEmpty {
                errors.append(FieldError(path: "\(path).nexthops", message: "at least 1 next hop is required"))
            } else if nexthops.count > Self.maxNextHops {
                errors.append(FieldError(
                    path: "\(path).nexthops", message: "\(nexthops.count) next hops are listed; at most \(Self.maxNextHops) are allowed"))
            }
            var seen: [String: Int] = [:]
            for (index, hop) in nexthops.enumerated() {
                let field = "\(path).nexthops[\(index)]"
                errors += hop.validate(at: field, destination: destination, family: family)
                let key = "\(hop.gatewayAddress?.description ?? hop.gateway ?? "") \(hop.interface)"
                if let earlier = seen[key] {
                    errors.append(FieldError(path: field, message: "duplicates \(path).nexthops[\(earlier)] (same gateway and interface)"))
                } else {
                    seen[key] = index
                }
            }
        }
        return errors
    }

    public static let maxNextHops = 16

    /// nil for a canonical CIDR; otherwise a message naming the text and the fix.
    static func destinationProblem(_ text: String) -> String? {
        if text.isEmpty { return "a destination is required (a CIDR like \"10.0.0.0/8\" or \"2001:db8::/32\")" }
        return IPPrefix.problem(text)
    }

    /// nil for an address of the destination's family; otherwise why not.
    static func gatewayProblem(_ text: String, destination: String, family: IPAddress.Family?) -> String? {
        guard let address = IPAddress(text) else {
            return "\(quoted(text)) is not a valid IP address (expected an address like \"192.168.1.1\" or \"2001:db8::1\")"
        }
        if let family, address.family != family {
            return "\(quoted(text)) is \(address.family) but the destination \(quoted(destination)) is \(family)"
        }
        return nil
    }
}

extension NextHop {
    /// Every problem with this next hop; `destination` and `family` (of the
    /// route's destination, when known) check the gateway's family.
    public func validate(at path: String, destination: String, family: IPAddress.Family?) -> [FieldError] {
        var errors: [FieldError] = []
        if let gateway, let problem = Route.gatewayProblem(gateway, destination: destination, family: family) {
            errors.append(FieldError(path: "\(path).gateway", message: problem))
        }
        if interface.isEmpty {
            errors.append(FieldError(path: "\(path).interface", message: "an interface is required (an exact name like \"eth1\")"))
        } else if let problem = InterfacePattern.exactNameProblem(interface) {
            errors.append(FieldError(path: "\(path).interface", message: problem.message))
        }
        if let weight, !Self.weightRange.contains(weight) {
            errors.append(FieldError(
                path: "\(path).weight",
                message: "weight \(weight) is out of range (\(Self.weightRange.lowerBound)-\(Self.weightRange.upperBound))"))
        }
        return errors
    }
}
