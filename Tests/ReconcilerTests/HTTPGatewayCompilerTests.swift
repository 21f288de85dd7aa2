import Foundation
import GatewayConfig
import Reconciler
import RouteletAPI
import Testing

/// An HTTP route on 198.51.100.10:`port` with the given spec lines after the listener.
private func httpRoute(_ name: String, namespace: String = "shop", port: Int = 80, proto: String = "HTTP", spec: String) -> String {
    """
    apiVersion: routelet.dev/v1alpha1
    kind: GatewayRoute
    metadata: {name: \(name), namespace: \(namespace)}
    spec:
      listener: {address: 198.51.100.10, port: \(port), protocol: \(proto)}
    \(spec)
    """
}

@Suite struct HTTPGatewayCompilerTests {
    @Test func routesOnOneListenerAreMergedOldestFirstWithMatchesNormalised() throws {
        let users = try gatewayRoute(httpRoute("users", spec: """
              hostnames: [API.example.com]
              accessLog: {headers: [X-User-Role, X-Region]}
              rules:
              - matches:
                - path: {value: /users}
                  headers: [{name: X-User-Role, value: admin}, {name: X-Region, value: us-west}]
                  method: GET
                backends:
                - {service: {name: users, port: 80}, weight: 90}
                - {addresses: [192.0.2.41, 192.0.2.42], port: 8080, weight: 10}
            """.replacingOccurrences(of: "API.", with: "api.")), created: "2026-02-01T00:00:00Z")
        let catchAll = try gatewayRoute(httpRoute("all", namespace: "web", spec: """
              rules:
              - backends: [{addresses: [192.0.2.51], port: 8080}]
            """), created: "2026-01-01T00:00:00Z")
        let endpoints = EndpointIndex(services: [try service("users")],
                                      slices: [try slice("users", endpoints: [("192.0.2.31", true, nil), ("192.0.2.32", false, nil)])])
        let result = GatewayCompiler.compile(routes: [users, catchAll], endpoints: endpoints, node: gatewayNode())
        #expect(result.verdicts.allSatisfy { $0.isProgrammed }, "\(result.verdicts.map(\.problems))")
        #expect(result.listeners.values.map(\.local) == [true], "one local listener: the eBPF stage hands it to the gateway")
        let listener = try #require(result.httpListeners.first)
        #expect(result.httpListeners.count == 1 && listener.hostPort == "198.51.100.10:80" && listener.protocol == "HTTP")
        #expect(listener.routes.map(\.name) == ["all", "users"], "oldest first: the precedence tie-break")
        let route = listener.routes[1]
        #expect(route.hostnames == ["api.example.com"] && route.accessLogHeaders == ["X-User-Role", "X-Region"])
        let match = try #require(route.rules.first?.matches.first)
        #expect(match.path == HTTPPathMatchConfig(type: "PathPrefix", value: "/users"), "the default type is written out")
        #expect(match.headers == [HTTPValueMatchConfig(name: "x-user-role", value: "admin"), HTTPValueMatchConfig(name: "x-region", value: "us-west")])
        #expect(match.method == "GET")
        #expect(route.rules.first?.backends == [
            HTTPBackendConfig(name: "service users:80", weight: 90, endpoints: ["192.0.2.31:8080"]),
            HTTPBackendConfig(name: "192.0.2.41,192.0.2.42:8080", weight: 10, endpoints: ["192.0.2.41:8080", "192.0.2.42:8080"]),
        ], "only ready endpoints take requests")
        let verdict = try #require(result.verdicts.first { $0.name == "users" })
        #expect(verdict.readyEndpoints == 3 && verdict.totalEndpoints == 4)
    }

    @Test func aMissingServiceKeepsItsShareAsUnresolvedAndNoEndpointIsReported() throws {
        let route = try gatewayRoute(httpRoute("split", spec: """
              rules:
              - backends:
                - {service: {name: ghost, port: 80}, weight: 1}
                - {addresses: [192.0.2.41], port: 8080, weight: 1}
            """))
        let empty = try gatewayRoute(httpRoute("empty", port: 81, spec: """
              rules:
              - backends: [{service: {name: users, port: 80}}]
            """))
        let endpoints = EndpointIndex(services: [try service("users")], slices: [])
        let result = GatewayCompiler.compile(routes: [route, empty], endpoints: endpoints, node: gatewayNode())
        let byName = Dictionary(uniqueKeysWithValues: result.verdicts.map { ($0.name, $0) })
        #expect(byName["split"]?.problems.map(\.reason) == [.backendNotFound] && byName["split"]?.resolvedRefs == false)
        #expect(byName["split"]?.problems.first?.message.hasPrefix("rules[0].backends[0]: Service shop/ghost not found") == true,
                "\(byName["split"]!.problems)")
        #expect(byName["empty"]?.problems.map(\.reason) == [.noReadyEndpoints])
        let backends = result.httpListeners.first { $0.port == 80 }?.routes.first?.rules.first?.backends
        #expect(backends?.map(\.resolved) == [false, true], "the gateway answers 500 for the unresolved share")
        #expect(result.httpListeners.count == 2, "both are served: 500s and 503s are the gateway's answers")
    }

    @Test func httpAndHTTPSOnOnePortConflictAndTheNodesOwnAddressIsRefused() throws {
        let backends = "  rules:\n  - backends: [{addresses: [192.0.2.41], port: 8080}]"
        let plain = try gatewayRoute(httpRoute("plain", spec: backends), created: "2026-01-01T00:00:00Z")
        let secure = try gatewayRoute(httpRoute("secure", proto: "HTTPS", spec: "  listener: {}\n" + backends)
            .replacingOccurrences(of: "protocol: HTTPS}", with: "protocol: HTTPS, tls: {secretName: cert}}")
            .replacingOccurrences(of: "  listener: {}\n", with: ""), created: "2026-02-01T00:00:00Z")
        let own = try gatewayRoute(httpRoute("own", port: 81, spec: backends).replacingOccurrences(of: "198.51.100.10", with: "192.0.2.10"))
        let result = GatewayCompiler.compile(routes: [plain, secure, own], endpoints: EndpointIndex(), node: gatewayNode())
        let byName = Dictionary(uniqueKeysWithValues: result.verdicts.map { ($0.name, $0) })
        #expect(byName["plain"]?.isProgrammed == true)
        #expect(byName["secure"]?.problems.first?.reason == .listenerConflict, "\(byName["secure"]!.problems)")
        #expect(byName["own"]?.problems.first?.reason == .listenerIsNodeAddress)
        #expect(result.httpListeners.map(\.hostPort) == ["198.51.100.10:80"] && result.httpListeners[0].routes.map(\.name) == ["plain"])
    }
}

@Suite struct HTTPSCompileTests {
    static let pem = (certificate: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                      key: "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")

    static func secret(_ name: String, type: String = KubernetesSecret.tlsType, certificate: String = pem.certificate,
                       key: String? = pem.key) -> KubernetesSecret {
        var data = ["tls.crt": Data(certificate.utf8).base64EncodedString()]
        data["tls.key"] = key.map { Data($0.utf8).base64EncodedString() }
        return KubernetesSecret(metadata: ObjectMeta(name: name, namespace: "shop"), type: type, data: data)
    }

    static func httpsRoute(_ name: String, secret: String, hostnames: String) throws -> GatewayRoute {
        try gatewayRoute("""
            apiVersion: routelet.dev/v1alpha1
            kind: GatewayRoute
            metadata: {name: \(name), namespace: shop}
            spec:
              listener: {address: 198.51.100.10, port: 443, protocol: HTTPS, tls: {secretName: \(secret)}}
              hostnames: \(hostnames)
              rules:
              - backends: [{addresses: [192.0.2.41], port: 8080}]
            """)
    }

    @Test func aValidSecretBecomesContentAddressedFilesSharedByTheRoutesNamingIt() throws {
        let a = try Self.httpsRoute("a", secret: "cert", hostnames: "[a.example.com]")
        let b = try Self.httpsRoute("b", secret: "cert", hostnames: "[\"*.example.org\"]")
        let result = GatewayCompiler.compile(routes: [a, b], endpoints: EndpointIndex(secrets: [Self.secret("cert")]), node: gatewayNode())
        #expect(result.verdicts.allSatisfy { $0.isProgrammed }, "\(result.verdicts.map(\.problems))")
        let certificates = try #require(result.httpListeners.first?.certificates)
        #expect(certificates.count == 1 && certificates[0].secret == "shop/cert")
        #expect(certificates[0].hostnames == ["a.example.com", "*.example.org"])
        #expect(result.certificateFiles[certificates[0].certificateFile] == Data(Self.pem.certificate.utf8))
        #expect(result.certificateFiles[certificates[0].keyFile] == Data(Self.pem.key.utf8))
        #expect(certificates[0].keyFile.hasPrefix("tls/shop_cert-"))

        // A changed Secret is a new file name: the gateway sees a new snapshot and reloads.
        let renewed = Self.secret("cert", certificate: Self.pem.certificate.replacingOccurrences(of: "MIIB", with: "MIIC"))
        let again = GatewayCompiler.compile(routes: [a], endpoints: EndpointIndex(secrets: [renewed]), node: gatewayNode())
        #expect(again.httpListeners.first?.certificates?.first?.certificateFile != certificates[0].certificateFile)
    }

    @Test func aMissingWrongTypeOrIncompleteSecretIsInvalidCertificateRefAndNotServed() throws {
        let cases: [(KubernetesSecret?, String)] = [
            (nil, "Secret shop/cert not found"),
            (Self.secret("cert", type: "Opaque"), "has type Opaque, not kubernetes.io/tls"),
            (Self.secret("cert", key: nil), "has no tls.key"),
            (Self.secret("cert", certificate: "not a pem"), "tls.crt holds no PEM certificate"),
        ]
        for (secret, message) in cases {
            let route = try Self.httpsRoute("a", secret: "cert", hostnames: "[a.example.com]")
            let result = GatewayCompiler.compile(routes: [route], endpoints: EndpointIndex(secrets: secret.map { [$0] } ?? []),
                                                 node: gatewayNode())
            let verdict = try #require(result.verdicts.first)
            #expect(verdict.problems.first?.reason == .invalidCertificateRef && !verdict.resolvedRefs)
            #expect(verdict.problems.first?.message.contains(message) == true, "\(verdict.problems)")
            #expect(result.httpListeners.isEmpty && result.certificateFiles.isEmpty)
        }
    }
}
