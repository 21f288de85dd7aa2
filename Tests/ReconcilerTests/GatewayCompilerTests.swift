import DataplaneModel
import Foundation
import GatewayConfig
import JSONValue
import NetAddress
import Reconciler
import RouteletAPI
import Testing
import YAML

/// A GatewayRoute from YAML text; fails the test on bad input.
func gatewayRoute(_ yaml: String, created: String? = nil) throws -> GatewayRoute {
    guard let document = try YAML.parseDocuments(yaml).first else { throw TestInputError("no YAML document") }
    var route = try GatewayRoute.decode(from: document.value)
    route.metadata.creationTimestamp = created
    let errors = route.validate()
    guard errors.isEmpty else { throw TestInputError("invalid test route: \(errors)") }
    return route
}

/// A TCP route named `name` for 198.51.100.10:`port` with the given backend lines.
func tcpRoute(_ name: String, port: Int = 80, proto: String = "TCP", extra: String = "", backends: String) -> String {
    """
    apiVersion: routelet.dev/v1alpha1
    kind: GatewayRoute
    metadata: {name: \(name), namespace: shop}
    spec:
      listener: {address: 198.51.100.10, port: \(port), protocol: \(proto)}
    \(extra)
      rules:
      - backends:
    \(backends)
    """
}

func service(_ name: String, port: Int = 80, portName: String = "http") throws -> KubernetesService {
    try KubernetesService.decode(from: JSONValue(jsonData: Data("""
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "\(name)", "namespace": "shop"},
         "spec": {"ports": [{"name": "\(portName)", "port": \(port), "targetPort": 8080}]}}
        """.utf8)))
}

func slice(_ service: String, endpoints: [(String, Bool?, Bool?)], port: Int = 8080) throws -> EndpointSlice {
    let items = endpoints.map { address, ready, terminating in
        var conditions: [String] = []
        if let ready { conditions.append("\"ready\": \(ready)") }
        if let terminating { conditions.append("\"terminating\": \(terminating)") }
        return "{\"addresses\": [\"\(address)\"], \"conditions\": {\(conditions.joined(separator: ", "))}}"
    }
    return try EndpointSlice.decode(from: JSONValue(jsonData: Data("""
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "\(service)-abc", "namespace": "shop", "labels": {"kubernetes.io/service-name": "\(service)"}},
         "addressType": "IPv4", "endpoints": [\(items.joined(separator: ", "))],
         "ports": [{"name": "http", "port": \(port), "protocol": "TCP"}]}
        """.utf8)))
}

/// A node whose eth1 (ifindex 11) holds 192.0.2.10/24 and eth2 (12) 203.0.113.1/24.
func gatewayNode() -> NodeFacts {
    var facts = node()
    facts.interfaceAddresses = [
        .init(ifindex: 11, address: address("192.0.2.10"), prefixLength: 24),
        .init(ifindex: 12, address: address("203.0.113.1"), prefixLength: 24),
    ]
    return facts
}

private let listenerKey = ListenerKey(address: IPAddress("198.51.100.10")!, port: 80, proto: .tcp)

@Suite struct GatewayCompilerTests {
    @Test func staticBackendsShareTheirWeightAndSNATFromTheAddressTowardThem() throws {
        let route = try gatewayRoute(tcpRoute("web", backends: """
                - {addresses: [192.0.2.21, 192.0.2.22], port: 8080, weight: 2}
                - {addresses: [203.0.113.30], port: 8080, weight: 1}
            """))
        let result = GatewayCompiler.compile(routes: [route], endpoints: EndpointIndex(), node: gatewayNode())
        let listener = try #require(result.listeners[listenerKey])
        let weights = Dictionary(uniqueKeysWithValues: listener.backends.map { ($0.endpoint.address.description, $0.weight) })
        // Weight 2 shared by two endpoints, weight 1 by one: 1 : 1 : 1.
        #expect(weights == ["192.0.2.21": 1000, "192.0.2.22": 1000, "203.0.113.30": 1000])
        let snat = Dictionary(uniqueKeysWithValues: listener.backends.map { ($0.endpoint.address.description, $0.endpoint.snatAddress?.description) })
        #expect(snat == ["192.0.2.21": "192.0.2.10", "192.0.2.22": "192.0.2.10", "203.0.113.30": "203.0.113.1"])
        #expect(listener.snat && listener.maglevSize == 16381 && listener.idleTimeoutSeconds == 21600)
        // Every interface but loopback runs the gateway stage (the default).
        #expect(result.interfaces == [10, 11, 12, 13])
        let verdict = try #require(result.verdicts.first)
        #expect(verdict.isProgrammed && verdict.readyEndpoints == 3 && verdict.totalEndpoints == 3, "\(verdict.problems)")
    }

    @Test func serviceBackendsUseReadyEndpointsOnlyAndTheServicesTargetPort() throws {
        let route = try gatewayRoute(tcpRoute("web", backends: "    - {service: {name: users, port: 80}}"))
        let endpoints = EndpointIndex(services: [try service("users")], slices: [try slice("users", endpoints: [
            ("192.0.2.31", true, nil), ("192.0.2.32", nil, nil), ("192.0.2.33", false, nil), ("192.0.2.34", true, true),
        ])])
        let result = GatewayCompiler.compile(routes: [route], endpoints: endpoints, node: gatewayNode())
        let listener = try #require(result.listeners[listenerKey])
        #expect(Set(listener.backends.map(\.endpoint.description)) == ["192.0.2.31:8080", "192.0.2.32:8080"],
                "ready (or unset) and not terminating take new flows")
        let verdict = try #require(result.verdicts.first)
        #expect(verdict.readyEndpoints == 2 && verdict.totalEndpoints == 4 && verdict.isProgrammed)
    }

    @Test func aMissingServiceOrPortIsBackendNotFoundAndNoEndpointIsReported() throws {
        let missing = try gatewayRoute(tcpRoute("a", backends: "    - {service: {name: ghost, port: 80}}"))
        let wrongPort = try gatewayRoute(tcpRoute("b", port: 81, backends: "    - {service: {name: users, port: 9999}}"))
        let noneReady = try gatewayRoute(tcpRoute("c", port: 82, backends: "    - {service: {name: users, port: 80}}"))
        let endpoints = EndpointIndex(services: [try service("users")], slices: [try slice("users", endpoints: [("192.0.2.31", false, nil)])])
        let result = GatewayCompiler.compile(routes: [missing, wrongPort, noneReady], endpoints: endpoints, node: gatewayNode())
        let byName = Dictionary(uniqueKeysWithValues: result.verdicts.map { ($0.name, $0) })
        #expect(byName["a"]?.problems.first?.reason == .backendNotFound && byName["a"]?.resolvedRefs == false)
        #expect(byName["a"]?.problems.first?.message.contains("Service shop/ghost not found") == true, "\(byName["a"]!.problems)")
        #expect(byName["b"]?.problems.first?.reason == .backendNotFound)
        #expect(byName["c"]?.problems.map(\.reason) == [.noReadyEndpoints] && byName["c"]?.resolvedRefs == true)
        // The listeners exist anyway: their new flows are dropped and counted, not sent to the kernel.
        #expect(result.listeners.count == 3 && result.listeners.values.allSatisfy { $0.backends.isEmpty })
    }

    @Test func theOlderRouteKeepsAContestedListenerAndAProtocolClashIsAConflict() throws {
        let backends = "    - {addresses: [192.0.2.21], port: 8080}"
        let older = try gatewayRoute(tcpRoute("older", backends: backends), created: "2026-01-01T00:00:00Z")
        let newer = try gatewayRoute(tcpRoute("newer", backends: backends), created: "2026-02-01T00:00:00Z")
        let udp = try gatewayRoute(tcpRoute("dns", proto: "UDP", backends: backends), created: "2026-03-01T00:00:00Z")
        let result = GatewayCompiler.compile(routes: [newer, udp, older], endpoints: EndpointIndex(), node: gatewayNode())
        let byName = Dictionary(uniqueKeysWithValues: result.verdicts.map { ($0.name, $0) })
        #expect(byName["older"]?.isProgrammed == true)
        #expect(byName["newer"]?.problems.first?.reason == .listenerConflict)
        #expect(byName["newer"]?.problems.first?.message.contains("shop/older") == true)
        // One address and port carry one protocol (api.md): UDP there is a conflict too.
        #expect(byName["dns"]?.problems.first?.reason == .listenerConflict && result.listeners.count == 1)
    }

    @Test func aListenerOnTheNodesOwnAddressOrAMissingInterfaceIsRefused() throws {
        let own = try gatewayRoute(tcpRoute("own", backends: "    - {addresses: [192.0.2.21], port: 8080}")
            .replacingOccurrences(of: "198.51.100.10", with: "192.0.2.10"))
        let ownHTTP = try gatewayRoute(tcpRoute("own-web", port: 82, proto: "HTTP", backends: "    - {addresses: [192.0.2.21], port: 8080}")
            .replacingOccurrences(of: "198.51.100.10", with: "192.0.2.10"))
        let ghost = try gatewayRoute(tcpRoute("ghost", port: 81, extra: "  interfaces: [eth9]", backends: "    - {addresses: [192.0.2.21], port: 8080}"))
        let result = GatewayCompiler.compile(routes: [own, ownHTTP, ghost], endpoints: EndpointIndex(), node: gatewayNode())
        let byName = Dictionary(uniqueKeysWithValues: result.verdicts.map { ($0.name, $0) })
        #expect(byName["own"]?.problems.first?.reason == .listenerIsNodeAddress)
        #expect(byName["own-web"]?.problems.first?.reason == .listenerIsNodeAddress)
        #expect(byName["ghost"]?.problems.first?.reason == .interfaceNotFound)
        #expect(result.listeners.isEmpty && result.interfaces.isEmpty && result.httpListeners.isEmpty)
    }

    @Test func anHTTPListenerIsALocalListenerThatHTTPRoutesShareAndTCPContests() throws {
        let backends = "    - {addresses: [192.0.2.21], port: 8080}"
        let web = try gatewayRoute(tcpRoute("web", proto: "HTTP", extra: "  interfaces: [eth1]", backends: backends),
                                   created: "2026-01-01T00:00:00Z")
        let api = try gatewayRoute(tcpRoute("api", proto: "HTTP", extra: "  interfaces: [eth2]", backends: "    - {service: {name: ghost, port: 80}}"),
                                   created: "2026-02-01T00:00:00Z")
        let tcp = try gatewayRoute(tcpRoute("raw", backends: backends), created: "2026-03-01T00:00:00Z")
        let secure = try gatewayRoute("""
            apiVersion: routelet.dev/v1alpha1
            kind: GatewayRoute
            metadata: {name: secure, namespace: shop}
            spec:
              listener: {address: 198.51.100.10, port: 443, protocol: HTTPS, tls: {secretName: cert}}
              interfaces: [eth1]
              rules:
              - backends:
                - {addresses: [192.0.2.21], port: 8080}
            """)
        let result = GatewayCompiler.compile(routes: [tcp, api, web, secure], endpoints: EndpointIndex(), node: gatewayNode())
        let byName = Dictionary(uniqueKeysWithValues: result.verdicts.map { ($0.name, $0) })

        let listener = try #require(result.listeners[listenerKey])
        #expect(listener == .local(owner: "shop/web"), "the older route owns the shared listener: \(listener)")
        #expect(listener.backends.isEmpty && listener.maglevSize == 0, "the gateway resolves HTTP backends, not the Maglev table")
        #expect(byName["web"]?.isProgrammed == true && byName["web"]?.readyEndpoints == 1, "\(byName["web"]!.problems)")
        #expect(byName["api"]?.problems.map(\.reason) == [.backendNotFound], "shares the listener; its own Service is missing")
        #expect(byName["api"]?.interfaces == ["eth2"])
        #expect(result.interfaces == [11, 12], "the gateway stage runs where either HTTP route binds")
        #expect(byName["raw"]?.problems.first?.reason == .listenerConflict, "TCP on an HTTP address and port")
        // HTTPS is a local listener too, once its certificate is there: without the Secret it is not served.
        #expect(byName["secure"]?.problems.map(\.reason) == [.invalidCertificateRef], "\(byName["secure"]!.problems)")
        #expect(result.listeners.count == 1)
        let secret = KubernetesSecret(metadata: ObjectMeta(name: "cert", namespace: "shop"), data: [
            "tls.crt": Data("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".utf8).base64EncodedString(),
            "tls.key": Data("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n".utf8).base64EncodedString(),
        ])
        let withSecret = GatewayCompiler.compile(routes: [tcp, api, web, secure], endpoints: EndpointIndex(secrets: [secret]), node: gatewayNode())
        #expect(withSecret.listeners[ListenerKey(address: IPAddress("198.51.100.10")!, port: 443, proto: .tcp)]?.local == true)
        #expect(withSecret.listeners.count == 2)
    }

    @Test func sourceRangesAndRateLimitsReachTheListener() throws {
        let backends = "    - {addresses: [192.0.2.21], port: 8080}"
        let filtered = try gatewayRoute(tcpRoute("filtered", extra: "  sourceRanges: {allow: [203.0.113.0/24, 198.51.100.0/24], deny: [198.51.100.66/32]}",
                                                 backends: backends))
        let limited = try gatewayRoute(tcpRoute("limited", port: 81, extra: "  rateLimit: {requestsPerSecond: 10}", backends: backends))
        let result = GatewayCompiler.compile(routes: [filtered, limited], endpoints: EndpointIndex(), node: gatewayNode())
        #expect(result.verdicts.allSatisfy { $0.problems.isEmpty }, "\(result.verdicts)")
        let first = try #require(result.listeners[ListenerKey(address: IPAddress("198.51.100.10")!, port: 80, proto: .tcp)])
        #expect(first.sourceRanges.allow == Set(["203.0.113.0/24", "198.51.100.0/24"].compactMap(IPPrefix.init)))
        #expect(first.sourceRanges.deny == [IPPrefix("198.51.100.66/32")!])
        #expect(first.rateLimit == nil)
        let second = try #require(result.listeners[ListenerKey(address: IPAddress("198.51.100.10")!, port: 81, proto: .tcp)])
        #expect(second.sourceRanges == .everySource)
        #expect(second.rateLimit == FlowRateLimit(perSecond: 10, burst: 10), "the burst defaults to the rate")
    }

    @Test func routesSharingAnHTTPListenerMustListTheSameSourceRanges() throws {
        let backends = "    - {addresses: [192.0.2.21], port: 8080}"
        let ranges = "  sourceRanges: {deny: [203.0.113.7/32]}"
        let older = try gatewayRoute(tcpRoute("older", proto: "HTTP", extra: ranges, backends: backends), created: "2026-01-01T00:00:00Z")
        let same = try gatewayRoute(tcpRoute("same", proto: "HTTP", extra: ranges, backends: backends), created: "2026-01-02T00:00:00Z")
        let other = try gatewayRoute(tcpRoute("other", proto: "HTTP", extra: "  sourceRanges: {deny: [203.0.113.8/32]}", backends: backends),
                                     created: "2026-01-03T00:00:00Z")
        let none = try gatewayRoute(tcpRoute("none", proto: "HTTP", backends: backends), created: "2026-01-04T00:00:00Z")
        let result = GatewayCompiler.compile(routes: [none, other, same, older], endpoints: EndpointIndex(), node: gatewayNode())
        let byName = Dictionary(uniqueKeysWithValues: result.verdicts.map { ($0.name, $0) })
        #expect(byName["older"]?.problems == [])
        #expect(byName["same"]?.problems == [])
        #expect(byName["other"]?.problems.first?.reason == .listenerConflict)
        #expect(byName["other"]?.problems.first?.message.contains("shop/older") == true)
        #expect(byName["none"]?.problems.first?.reason == .listenerConflict, "no ranges differ from some ranges")
        #expect(result.listeners.values.first?.sourceRanges.deny == [IPPrefix("203.0.113.7/32")!])
        #expect(result.httpListeners.first?.routes.map(\.name) == ["older", "same"])
    }

    @Test func anHTTPRateLimitGoesToTheGatewaySnapshotNotToTheEBPFStage() throws {
        let route = try gatewayRoute(tcpRoute("web", proto: "HTTP", extra: "  rateLimit: {requestsPerSecond: 5, burst: 20}",
                                              backends: "    - {addresses: [192.0.2.21], port: 8080}"))
        let result = GatewayCompiler.compile(routes: [route], endpoints: EndpointIndex(), node: gatewayNode())
        #expect(result.verdicts.first?.problems == [])
        #expect(result.listeners.values.first?.rateLimit == nil)
        #expect(result.httpListeners.first?.routes.first?.rateLimit == HTTPRateLimitConfig(requestsPerSecond: 5, burst: 20))
    }

    @Test func aNodeFullOfSourceRangesRefusesTheNextListenerInsteadOfServingItUnfiltered() throws {
        // 2,000 ranges per route: the 132nd listener passes 262,144.
        let ranges = (0..<1000).map { "10.\($0 / 256).\($0 % 256).0/24" }
        let denies = (0..<1000).map { "10.100.\($0 / 256).\($0 % 256)/32" }
        let extra = "  sourceRanges: {allow: [\(ranges.joined(separator: ", "))], deny: [\(denies.joined(separator: ", "))]}"
        let routes = try (0..<132).map { index in
            try gatewayRoute(tcpRoute("r\(index)", port: 1000 + index, extra: extra, backends: "    - {addresses: [192.0.2.21], port: 8080}"),
                             created: String(format: "2026-01-01T00:%02d:%02dZ", index / 60, index % 60))
        }
        let result = GatewayCompiler.compile(routes: routes, endpoints: EndpointIndex(), node: gatewayNode())
        #expect(result.listeners.count == 131)
        let refused = result.verdicts.filter { !$0.problems.isEmpty }
        #expect(refused.map(\.name) == ["r131"])
        #expect(refused.first?.problems.first?.reason == .tooManySourceRanges)
    }

    @Test func aTCPListenersAccessLogHeadersAreCapturedNamesTooLongForEBPFAreReportedAndTheRestKept() throws {
        let long = "X-" + String(repeating: "a", count: 70)
        let backends = "    - {addresses: [192.0.2.21], port: 8080}"
        let logged = try gatewayRoute(tcpRoute("logged", extra: "  accessLog: {headers: [X-User-Role, \(long), User-Agent]}", backends: backends))
        let plain = try gatewayRoute(tcpRoute("plain", port: 81, backends: backends))
        let result = GatewayCompiler.compile(routes: [logged, plain], endpoints: EndpointIndex(), node: gatewayNode())
        let capture = result.listeners[ListenerKey(address: IPAddress("198.51.100.10")!, port: 80, proto: .tcp)]?.capture
        #expect(capture == CaptureNames(["X-User-Role", "User-Agent"]))
        #expect(result.listeners[ListenerKey(address: IPAddress("198.51.100.10")!, port: 81, proto: .tcp)]?.capture == nil)
        let problems = result.verdicts.first { $0.name == "logged" }?.problems ?? []
        #expect(problems.map(\.reason) == [.unsupportedField] && problems.first?.message.contains(long) == true, "\(problems)")
    }

    @Test func aNodeWithoutHeaderCaptureServesTheListenerAndSaysItsHeadersAreNotLogged() throws {
        let backends = "    - {addresses: [192.0.2.21], port: 8080}"
        let logged = try gatewayRoute(tcpRoute("logged", extra: "  accessLog: {headers: [X-User-Role]}", backends: backends))
        var node = gatewayNode()
        node.canCaptureHeaders = false
        let result = GatewayCompiler.compile(routes: [logged], endpoints: EndpointIndex(), node: node)
        let listener = try #require(result.listeners[ListenerKey(address: IPAddress("198.51.100.10")!, port: 80, proto: .tcp)])
        #expect(listener.capture == nil && !listener.backends.isEmpty)
        let problems = result.verdicts.first?.problems ?? []
        #expect(problems.map(\.reason) == [.headerCaptureUnsupported], "\(problems)")
    }

    @Test func captureNamesAreWrittenBeforeTheListenerFlagAndRemovedAfterIt() throws {
        let backends = "    - {addresses: [192.0.2.21], port: 8080}"
        var desired = DesiredDataplane()
        func compile(_ extra: String) throws {
            let route = try gatewayRoute(tcpRoute("web", extra: extra, backends: backends))
            let compiled = GatewayCompiler.compile(routes: [route], endpoints: EndpointIndex(), node: gatewayNode())
            desired.listeners = compiled.listeners
            desired.gatewayInterfaces = compiled.interfaces
        }
        var model = Model()
        func plan() -> [Reconciler.Operation] { Planner.plan(desired: desired, actual: model.state, isCurrent: { _ in true }).operations }
        try compile("  accessLog: {headers: [X-A]}")
        let first = plan()
        let names = try #require(first.firstIndex { if case .setCaptureNames = $0 { true } else { false } })
        let listener = try #require(first.firstIndex { if case .setListener(_, let entry, _) = $0 { entry.capture } else { false } })
        #expect(names < listener, "\(first)")
        first.forEach { model.apply($0) }
        #expect(plan().isEmpty)
        // Another list: only the names change.
        try compile("  accessLog: {headers: [X-B, X-A]}")
        #expect(plan() == [Reconciler.Operation.setCaptureNames(listenerID: 0, CaptureNames(["X-B", "X-A"]))])
        plan().forEach { model.apply($0) }
        // Capture off: the flag goes first, then the names.
        try compile("")
        let off = plan()
        let cleared = try #require(off.firstIndex { if case .setListener(_, let entry, _) = $0 { !entry.capture } else { false } })
        let removed = try #require(off.firstIndex { $0 == Reconciler.Operation.removeCaptureNames(listenerID: 0) })
        #expect(cleared < removed, "\(off)")
    }

    @Test func theSameInputsGiveTheSamePlanAndAnIdleNodeWritesNothing() throws {
        let route = try gatewayRoute(tcpRoute("web", backends: "    - {addresses: [192.0.2.21, 192.0.2.22, 192.0.2.23], port: 8080}"))
        var desired = DesiredDataplane()
        let compiled = GatewayCompiler.compile(routes: [route], endpoints: EndpointIndex(), node: gatewayNode())
        desired.listeners = compiled.listeners
        desired.gatewayInterfaces = compiled.interfaces
        var model = Model()
        for operation in Planner.plan(desired: desired, actual: model.state, isCurrent: { _ in true }).operations {
            model.apply(operation)
        }
        #expect(model.state.gateway.listeners[listenerKey]?.id == 0)
        #expect(Set(model.state.gateway.maglev[0]?.slots ?? []).count == 3, "the table names all three backends")
        #expect(Planner.plan(desired: desired, actual: model.state, isCurrent: { _ in true }).operations.isEmpty,
                "diff(state, state) is empty")

        // One backend leaves: the others keep their ids, it is removed after
        // the table no longer names it, unless live flows still use it.
        let two = try gatewayRoute(tcpRoute("web", backends: "    - {addresses: [192.0.2.21, 192.0.2.22], port: 8080}"))
        desired.listeners = GatewayCompiler.compile(routes: [two], endpoints: EndpointIndex(), node: gatewayNode()).listeners
        let gone = try #require(model.state.gateway.backends.first { $0.value.address == address("192.0.2.23") }?.key)
        let plan = Planner.plan(desired: desired, actual: model.state, isCurrent: { _ in true }).operations
        let table = try #require(plan.firstIndex { if case .setMaglev = $0 { true } else { false } })
        let removal = try #require(plan.firstIndex { $0 == .removeBackend(id: gone) })
        #expect(table < removal, "the table stops naming the backend before the backend goes")
        #expect(!plan.contains { if case .setBackend = $0 { true } else { false } }, "the others keep their ids: \(plan)")
        var draining = model.state
        draining.gateway.activeBackendIDs = [gone]
        #expect(!Planner.plan(desired: desired, actual: draining, isCurrent: { _ in true }).operations.contains(.removeBackend(id: gone)))
    }
}

@Suite struct ConntrackLivenessTests {
    private func entry(lastSeen: UInt64, closing: Bool = false) -> ConntrackEntry {
        let tuple = ConntrackEntry.Tuple(source: address("192.0.2.1"), sourcePort: 1, destination: address("192.0.2.2"), destinationPort: 2)
        return ConntrackEntry(proto: .tcp, arriving: tuple, leaving: tuple, listenerID: 0, backendID: 1, isReply: false,
                              isClosing: closing, lastSeenNanoseconds: lastSeen, idleTimeoutSeconds: 60)
    }

    @Test func aFlowLivesUntilItsIdleTimeoutOrItsEnd() {
        let second: UInt64 = 1_000_000_000
        #expect(entry(lastSeen: 100 * second).isLive(now: 159 * second))
        #expect(!entry(lastSeen: 100 * second).isLive(now: 161 * second))
        #expect(!entry(lastSeen: 100 * second, closing: true).isLive(now: 101 * second))
        // A packet after the clock was read: alive, not wrapped around to "idle for 584 years".
        #expect(entry(lastSeen: 200 * second).isLive(now: 199 * second))
    }
}
