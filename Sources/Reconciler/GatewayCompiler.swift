import Foundation
import DataplaneModel
import GatewayConfig
import NetAddress
import RouteletAPI

/// The Services and EndpointSlices that `service:` backends resolve
/// through, and the TLS Secrets of HTTPS listeners.
public struct EndpointIndex: Hashable, Sendable {
    /// "namespace/name" -> Service.
    public var services: [String: KubernetesService]
    /// "namespace/service name" -> its slices.
    public var slices: [String: [EndpointSlice]]
    /// "namespace/name" -> a `kubernetes.io/tls` Secret an HTTPS listener may name.
    public var secrets: [String: KubernetesSecret]

    public init(services: [KubernetesService] = [], slices: [EndpointSlice] = [], secrets: [KubernetesSecret] = []) {
        self.secrets = Dictionary(secrets.map { ("\($0.metadata.namespace ?? "default")/\($0.metadata.name ?? "")", $0) },
                                  uniquingKeysWith: { first, _ in first })
        self.services = Dictionary(services.map { ("\($0.metadata.namespace ?? "default")/\($0.metadata.name ?? "")", $0) },
                                   uniquingKeysWith: { first, _ in first })
        var byService: [String: [EndpointSlice]] = [:]
        for slice in slices {
            guard let service = slice.serviceName else { continue }
            byService["\(slice.metadata.namespace ?? "default")/\(service)", default: []].append(slice)
        }
        self.slices = byService.mapValues { $0.sorted { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") } }
    }
}

/// How one GatewayRoute fared on this node.
public struct GatewayVerdict: Hashable, Sendable {
    public var namespace: String
    public var name: String
    public var generation: Int64?
    public var listener: String
    /// The interfaces where it takes traffic on this node.
    public var interfaces: [String]
    /// Endpoints that take new flows, of all endpoints its backends name.
    public var readyEndpoints: Int
    public var totalEndpoints: Int
    public var problems: [Problem]

    public var isProgrammed: Bool { problems.isEmpty }
    /// Every backend was found (its Service exists and has the port).
    public var resolvedRefs: Bool { !problems.contains { $0.reason == .backendNotFound || $0.reason == .invalidCertificateRef } }
}

/// What compile decided for the gateway stage.
public struct GatewayCompilation: Hashable, Sendable {
    public var listeners: [ListenerKey: DesiredListener] = [:]
    public var interfaces: Set<UInt32> = []
    public var verdicts: [GatewayVerdict] = []
    /// The HTTP and HTTPS listeners `routelet gateway` serves, by address and port.
    public var httpListeners: [HTTPListenerConfig] = []
    /// The PEM files HTTPS listeners' certificates name, by path relative to
    /// the snapshot directory (content-addressed: a changed Secret is a new file).
    public var certificateFiles: [String: Data] = [:]
}

/// compile for GatewayRoutes: routes, endpoints and node facts in, the
/// desired listeners and a verdict per selected route out. Pure.
///
/// TCP and UDP listeners are load balanced by the eBPF gateway stage; an
/// older route keeps a contested listener (creationTimestamp, then
/// namespace and name). A backend's weight is shared equally by its ready
/// endpoints, the Gateway API's meaning of a backendRef weight.
///
/// HTTP and HTTPS listeners become local listeners: the eBPF stage hands
/// their packets to `routelet gateway` on this node (no backends, no
/// Maglev table here; the HTTP rules are compiled into the gateway's
/// snapshot elsewhere). Routes on one address and port share its listener.
public enum GatewayCompiler {
    /// The largest Maglev table a listener may ask for (the ABI's limit).
    public static let maxTableSize = 131_071
    static let maxListeners = GatewayPlanner.maxListeners
    /// sourceRanges entries per family the node holds, all listeners together (RL_MAX_SOURCE_RANGES).
    public static let maxSourceRanges = 262_144

    public static func compile(routes: [GatewayRoute], endpoints: EndpointIndex, node: NodeFacts) -> GatewayCompilation {
        var result = GatewayCompilation()
        let selected = routes
            .filter { $0.metadata.name != nil && $0.spec.selects(nodeLabels: node.labels) }
            .sorted(by: isOlder)
        var owners: [ListenerKey: String] = [:]
        var protocolOfPort: [String: GatewayProtocol] = [:]   // "address:port" -> the first route's protocol
        var sourceRangesUsed: [IPAddress.Family: Int] = [:]
        let links = node.links.values.filter { $0.name != "lo" }.sorted { $0.name < $1.name }

        for route in selected {
            let namespace = route.metadata.namespace ?? "default"
            let name = route.metadata.name!
            let owner = "\(namespace)/\(name)"
            let listener = route.spec.listener
            var verdict = GatewayVerdict(namespace: namespace, name: name, generation: route.metadata.generation,
                                         listener: listener.displayText, interfaces: [], readyEndpoints: 0,
                                         totalEndpoints: 0, problems: [])
            defer { result.verdicts.append(verdict) }

            guard let address = listener.addressValue, let proto = listener.effectiveProtocol,
                  (1...65535).contains(listener.port) else {
                verdict.problems.append(Problem(.invalid, "listener \(listener.displayText) is not valid"))
                continue
            }
            let portText = HTTPGatewayCompiler.hostPort(address, listener.port)
            if let earlier = protocolOfPort[portText], earlier != proto {
                verdict.problems.append(Problem(.listenerConflict, "\(portText) already carries \(earlier) for an older GatewayRoute"))
                continue
            }
            protocolOfPort[portText] = protocolOfPort[portText] ?? proto
            let ranges = route.spec.sourceRanges.map { ranges in
                DesiredSourceRanges(allow: ranges.allowPrefixes.map { Set($0.filter { $0.family == address.family }) },
                                    deny: Set(ranges.denyPrefixes.filter { $0.family == address.family }))
            } ?? .everySource
            // accessLog.headers of a TCP listener: captured in eBPF, names
            // of at most 64 bytes (validation allows longer ones, which the
            // HTTP gateway logs).
            var capture: CaptureNames?
            if proto == .tcp, let headers = route.spec.accessLog?.headers, !headers.isEmpty {
                if !node.canCaptureHeaders {
                    verdict.problems.append(Problem(
                        .headerCaptureUnsupported,
                        "spec.accessLog.headers are not logged: this node's data plane runs without header capture (it needs the kernel's ring buffer, 5.8, and bpf_loop, 5.17, or the agent has --header-capture off); the listener is served"))
                } else {
                    let long = headers.filter { $0.utf8.count > CaptureNames.maxNameBytes }
                    if !long.isEmpty {
                        verdict.problems.append(Problem(
                            .unsupportedField,
                            "spec.accessLog.headers \(long.joined(separator: ", ")) \(long.count == 1 ? "is" : "are") longer than \(CaptureNames.maxNameBytes) bytes, which a TCP listener's capture in eBPF cannot match; the other headers are logged"))
                    }
                    let kept = headers.filter { $0.utf8.count <= CaptureNames.maxNameBytes }
                    capture = kept.isEmpty ? nil : CaptureNames(kept)
                }
            }
            if node.addresses.contains(address) {
                verdict.problems.append(Problem(.listenerIsNodeAddress, "listener address \(address) is one of this node's own addresses"))
                continue
            }
            // HTTP and HTTPS listeners are TCP entries handed to the local
            // gateway; routes on one address and port share it (the gateway
            // matches their requests), so only L4 listeners conflict here.
            let key = ListenerKey(address: address, port: UInt16(listener.port), proto: proto == .udp ? .udp : .tcp)
            let shared = proto.isHTTP && result.listeners[key]?.local == true
            if let holder = owners[key], !shared {
                verdict.problems.append(Problem(.listenerConflict, "listener \(key) belongs to GatewayRoute \(holder) (older)"))
                continue
            }
            // sourceRanges act on packets, before any request is read, so
            // every route on a shared HTTP listener must list the same ones.
            if shared, let holder = owners[key], result.listeners[key]?.sourceRanges != ranges {
                verdict.problems.append(Problem(
                    .listenerConflict,
                    "spec.sourceRanges differ from those of GatewayRoute \(holder) (older) on listener \(key); routes sharing a listener must list the same sourceRanges"))
                continue
            }
            if !shared, sourceRangesUsed[address.family, default: 0] + ranges.count > maxSourceRanges {
                verdict.problems.append(Problem(
                    .tooManySourceRanges,
                    "this node already holds \(sourceRangesUsed[address.family, default: 0]) \(address.family) sourceRanges of at most \(maxSourceRanges); the listener is not served"))
                continue
            }

            var backends: [BackendEntry: UInt64] = [:]
            var order: [BackendEntry] = []
            var total = 0, ready = 0
            // L4: one rule, whose backends fill the Maglev table. HTTP rules
            // go to the gateway's snapshot (compileHTTP, below).
            for rule in route.spec.rules.prefix(proto.isLayer4 ? 1 : 0) {
                for (index, backend) in rule.backends.enumerated() {
                    let resolved = resolve(backend, index: index, namespace: namespace, proto: proto, family: address.family,
                                           endpoints: endpoints)
                    if let problem = resolved.problem { verdict.problems.append(problem) }
                    total += resolved.total
                    ready += resolved.ready.count
                    guard !resolved.ready.isEmpty else { continue }
                    // The backend's weight, shared by its endpoints (scaled so integers stay exact enough).
                    let share = backend.effectiveWeight == 0 ? 0 : max(1, UInt64(backend.effectiveWeight) * 1000 / UInt64(resolved.ready.count))
                    for (endpointAddress, port) in resolved.ready {
                        let entry = BackendEntry(address: endpointAddress, port: port,
                                                 snatAddress: snatAddress(toward: endpointAddress, node: node))
                        if backends[entry] == nil { order.append(entry) }
                        backends[entry, default: 0] += share
                    }
                }
            }
            verdict.totalEndpoints = total
            verdict.readyEndpoints = ready
            // Interfaces: the patterns, or every link but loopback.
            let patterns = route.spec.interfacePatterns
            let matched = route.spec.bindsEveryInterface ? links : links.filter { link in patterns.contains { $0.matches(link.name) } }
            for pattern in patterns where !pattern.isGlob && node.links[pattern.description] == nil {
                verdict.problems.append(Problem(.interfaceNotFound, "interface \(pattern) not found"))
            }
            guard !matched.isEmpty else {
                if !verdict.problems.contains(where: { $0.reason == .interfaceNotFound }) {
                    let message = route.spec.bindsEveryInterface ? "this node has no interface but loopback"
                        : "no interface on this node matches \(route.spec.interfaces ?? [])"
                    verdict.problems.append(Problem(.noInterfaces, message))
                }
                continue
            }
            guard shared || owners.count < maxListeners else {
                verdict.problems.append(Problem(.tooManyListeners, "this node already serves \(maxListeners) listeners"))
                continue
            }
            if proto.isHTTP {
                guard compileHTTP(route, namespace: namespace, address: address, endpoints: endpoints, into: &result,
                                  verdict: &verdict) else { continue }
                if !shared {
                    owners[key] = owner
                    result.listeners[key] = .local(owner: owner, sourceRanges: ranges)
                    sourceRangesUsed[address.family, default: 0] += ranges.count
                }
                verdict.interfaces = matched.map(\.name)
                result.interfaces.formUnion(matched.map(\.ifindex))
                continue
            }
            let tableSize = listener.effectiveMaglevTableSize
            guard tableSize <= maxTableSize, Maglev.isPrime(tableSize) else {
                verdict.problems.append(Problem(.invalid, "maglevTableSize \(tableSize) is not a prime up to \(maxTableSize)"))
                continue
            }

            let snat = !listener.effectivePreserveClientIP
            if snat, order.contains(where: { $0.snatAddress == nil }) {
                verdict.problems.append(Problem(.noSNATAddress, "this node has no \(address.family == .v4 ? "IPv4" : "IPv6") address to SNAT from"))
            }
            if ready == 0 && !verdict.problems.contains(where: { $0.reason == .backendNotFound }) {
                verdict.problems.append(Problem(.noReadyEndpoints, "no backend has a ready endpoint"))
            }
            let timeout = listener.effectiveIdleTimeout.map { UInt32($0.components.seconds) } ?? 60
            owners[key] = owner
            sourceRangesUsed[address.family, default: 0] += ranges.count
            verdict.interfaces = matched.map(\.name)
            result.interfaces.formUnion(matched.map(\.ifindex))
            result.listeners[key] = DesiredListener(
                owner: owner, snat: snat, maglevSize: UInt32(tableSize), idleTimeoutSeconds: timeout,
                backends: order.map { DesiredBackend(endpoint: $0, weight: UInt32(min(backends[$0]!, UInt64(UInt32.max)))) },
                sourceRanges: ranges,
                rateLimit: route.spec.rateLimit.flatMap(flowRateLimit), capture: capture)
        }
        // What the gateway would drop when it compiles a listener's rules
        // (a regular expression it cannot compile) is the route's problem here.
        for listener in result.httpListeners {
            for problem in ListenerRouter(listener: listener).problems {
                guard let index = result.verdicts.firstIndex(where: { $0.namespace == problem.namespace && $0.name == problem.name })
                else { continue }
                result.verdicts[index].problems.append(Problem(.invalid, "rules[\(problem.ruleIndex)]: \(problem.message)"))
            }
        }
        return result
    }

    /// An HTTP or HTTPS route: its rules join the listener's in the gateway
    /// snapshot (routes arrive oldest first, the snapshot's order). False
    /// when it cannot be served (no usable certificate).
    static func compileHTTP(_ route: GatewayRoute, namespace: String, address: IPAddress, endpoints: EndpointIndex,
                            into result: inout GatewayCompilation, verdict: inout GatewayVerdict) -> Bool {
        let listener = route.spec.listener
        var certificate: TLSCertificateConfig?
        if listener.protocol == .https {
            let secretName = listener.tls?.secretName ?? ""
            guard let secret = endpoints.secrets["\(namespace)/\(secretName)"] else {
                verdict.problems.append(Problem(.invalidCertificateRef, "Secret \(namespace)/\(secretName) not found (an HTTPS listener needs a \(KubernetesSecret.tlsType) Secret)"))
                return false
            }
            switch secret.tlsKeyPair() {
            case .failure(let problem):
                verdict.problems.append(Problem(.invalidCertificateRef, problem.message))
                return false
            case .success(let pair):
                let base = "tls/\(namespace)_\(secretName)-\(HTTPGatewayCompiler.digest(pair.certificate + pair.key))"
                result.certificateFiles[base + ".crt"] = pair.certificate
                result.certificateFiles[base + ".key"] = pair.key
                certificate = TLSCertificateConfig(secret: "\(namespace)/\(secretName)", certificateFile: base + ".crt", keyFile: base + ".key",
                                                   hostnames: (route.spec.hostnames ?? []).map { $0.lowercased() })
            }
        }
        let compiled = HTTPGatewayCompiler.route(route, namespace: namespace, family: address.family, endpoints: endpoints)
        verdict.problems += compiled.problems
        verdict.readyEndpoints = compiled.readyEndpoints
        verdict.totalEndpoints = compiled.totalEndpoints
        let text = address.description
        let index = result.httpListeners.firstIndex { $0.address == text && $0.port == listener.port } ?? {
            result.httpListeners.append(HTTPListenerConfig(address: text, port: listener.port, protocol: listener.protocol.rawValue))
            return result.httpListeners.count - 1
        }()
        result.httpListeners[index].routes.append(compiled.config)
        if let certificate {
            // One entry per Secret: routes naming the same one share it, with all their hostnames.
            var certificates = result.httpListeners[index].certificates ?? []
            if let same = certificates.firstIndex(where: { $0.certificateFile == certificate.certificateFile }) {
                certificates[same].hostnames += certificate.hostnames.filter { !certificates[same].hostnames.contains($0) }
            } else {
                certificates.append(certificate)
            }
            result.httpListeners[index].certificates = certificates
        }
        return true
    }

    /// A rateLimit as the eBPF stage takes it (validation bounds it; out of
    /// range values are clamped, never trapped on).
    static func flowRateLimit(_ limit: GatewayRateLimit) -> FlowRateLimit? {
        guard limit.requestsPerSecond > 0 else { return nil }
        let rate = UInt32(clamping: limit.requestsPerSecond)
        return FlowRateLimit(perSecond: rate, burst: max(rate, UInt32(clamping: limit.effectiveBurst)))
    }

    /// Older first: creationTimestamp, then namespace and name.
    static func isOlder(_ a: GatewayRoute, _ b: GatewayRoute) -> Bool {
        (a.metadata.creationTimestamp ?? "", a.metadata.namespace ?? "", a.metadata.name ?? "")
            < (b.metadata.creationTimestamp ?? "", b.metadata.namespace ?? "", b.metadata.name ?? "")
    }

    struct Resolved {
        /// Endpoints that take new flows.
        var ready: [(IPAddress, UInt16)] = []
        /// Every endpoint named, ready or not.
        var total = 0
        var problem: Problem?
    }

    /// A backend's endpoints: its addresses as written, or its Service's
    /// ready EndpointSlice endpoints (serving but terminating ones keep
    /// their flows through conntrack and take no new ones).
    static func resolve(_ backend: GatewayBackend, index: Int, namespace: String, proto: GatewayProtocol,
                        family: IPAddress.Family, endpoints: EndpointIndex) -> Resolved {
        var resolved = Resolved()
        if let service = backend.service {
            let protoText = proto == .udp ? "UDP" : "TCP"
            guard let object = endpoints.services["\(namespace)/\(service.name)"] else {
                resolved.problem = Problem(.backendNotFound, "backends[\(index)]: Service \(namespace)/\(service.name) not found")
                return resolved
            }
            guard let servicePort = object.port(service.port, protocol: protoText) else {
                resolved.problem = Problem(.backendNotFound, "backends[\(index)]: Service \(namespace)/\(service.name) has no \(protoText) port \(service.port)")
                return resolved
            }
            var seen: Set<IPAddress> = []
            for slice in endpoints.slices["\(namespace)/\(service.name)"] ?? [] {
                guard slice.addressType == (family == .v4 ? .ipv4 : .ipv6),
                      let port = slice.port(named: servicePort.name, protocol: protoText)?.port, (1...65535).contains(port) else { continue }
                for endpoint in slice.endpoints {
                    for text in endpoint.addresses {
                        guard let address = IPAddress(text), address.family == family, seen.insert(address).inserted else { continue }
                        resolved.total += 1
                        let conditions = endpoint.effectiveConditions
                        if conditions.isReady && !conditions.isTerminating { resolved.ready.append((address, UInt16(port))) }
                    }
                }
            }
            return resolved
        }
        guard let port = backend.port, (1...65535).contains(port) else { return resolved }
        for address in backend.addressValues where address.family == family {
            resolved.total += 1
            resolved.ready.append((address, UInt16(port)))
        }
        return resolved
    }

    /// The node's address that SNATed flows to `backend` come from: one on
    /// the interface whose subnet holds the backend, else the first of the
    /// same family.
    static func snatAddress(toward backend: IPAddress, node: NodeFacts) -> IPAddress? {
        let candidates = node.interfaceAddresses
            .filter { $0.address.family == backend.family && isUsableSource($0.address) }
            .sorted { ($0.ifindex, $0.address) < ($1.ifindex, $1.address) }
        let onLink = candidates.first { candidate in
            IPPrefix(address: candidate.address.masked(to: candidate.prefixLength), length: candidate.prefixLength)?.contains(backend) ?? false
        }
        if let onLink { return onLink.address }
        if let any = candidates.first { return any.address }
        return node.addresses.filter { $0.family == backend.family && isUsableSource($0) }.sorted().first
    }

    private static let unusableSources = ["127.0.0.0/8", "169.254.0.0/16", "::1/128", "fe80::/10"].compactMap { IPPrefix($0) }

    /// Not loopback, not link-local: an address a backend can answer to.
    static func isUsableSource(_ address: IPAddress) -> Bool {
        !unusableSources.contains { $0.contains(address) }
    }
}
