import Foundation
import JSONValue
import RouteletAPI
import Testing
import YAML

@Suite struct GatewayRouteCodingTests {
    static let badTypes: [(String, String)] = [
        ("listener: {address: 10.96.0.10, port: eighty, protocol: HTTP}", #"spec.listener.port: expected an integer, got "eighty""#),
        ("listener: {address: 10.96.0.10, port: 80, protocol: 6}", "spec.listener.protocol: expected a string, got 6"),
        ("listener: {address: 10.96.0.10, port: 80, protocol: TCP, preserveClientIP: yes please}",
         #"spec.listener.preserveClientIP: expected a boolean, got "yes please""#),
        ("listener: {address: 10.96.0.10, port: 80, protocol: TCP, maglevTableSize: 1.5}",
         "spec.listener.maglevTableSize: expected an integer, got 1.5"),
        ("rules: {backends: []}", "spec.rules: expected a list, got an object"),
        ("rules: [{backends: [{service: {name: a, port: 80}, weight: 1e30}]}]",
         "spec.rules[0].backends[0].weight: 1e+30 is out of range (-9223372036854775808 to 9223372036854775807)"),
        ("rules: [{matches: [{headers: [{name: [X-A], value: a}]}], backends: []}]",
         "spec.rules[0].matches[0].headers[0].name: expected a string, got a list"),
        ("hostnames: api.example.com", #"spec.hostnames: expected a list, got "api.example.com""#),
        ("rateLimit: {requestsPerSecond: .inf}", "spec.rateLimit.requestsPerSecond: expected a finite number, got .inf"),
    ]

    @Test("a value of the wrong type names its field", arguments: badTypes)
    func wrongTypeNamesField(spec: String, expected: String) throws {
        do {
            let route = try gatewayRoute(gatewayManifest(spec: spec))
            Issue.record("decoded: \(route)")
        } catch let error as ResourceDecodingError {
            #expect(error.description == expected)
        }
    }

    @Test("missing fields decode as empty, for validation to report")
    func lenientDecoding() throws {
        let route = try GatewayRoute.decode(from: JSONValue.object([:]))
        #expect(route.apiVersion.isEmpty && route.kind.isEmpty && route.metadata == ObjectMeta())
        #expect(route.spec == GatewayRouteSpec())
        #expect(route.spec.listener == GatewayListener(address: "", port: 0, protocol: ""))
        #expect(route.status == nil)
        let backend = try ResourceDecoder.decode(GatewayBackend.self, from: ["service": [:]])
        #expect(backend.service == GatewayServiceRef(name: "", port: 0))
        #expect(try ResourceDecoder.decode(HTTPPathMatch.self, from: [:]) == HTTPPathMatch(value: ""))
    }

    @Test("Kubernetes JSON round-trips with every field; unknown fields are ignored")
    func roundTrip() throws {
        let yaml = """
            apiVersion: routelet.dev/v1alpha1
            kind: GatewayRoute
            metadata:
              name: users
              namespace: shop
              uid: 6f1c0d2e-1111-2222-3333-444455556666
              resourceVersion: "42"
              generation: 2
              creationTimestamp: "2024-05-01T10:00:00Z"
            spec:
              nodeSelector: {matchLabels: {routelet.dev/role: gateway}}
              interfaces: [eth1]
              listener: {address: 10.96.0.10, port: 443, protocol: HTTPS, tls: {secretName: users-cert}, futureField: 1}
              hostnames: [api.example.com]
              rules:
              - matches:
                - path: {type: Exact, value: /users}
                  headers: [{name: X-Role, value: admin, type: Exact}]
                  queryParams: [{name: tier, value: "g.*", type: RegularExpression}]
                  method: GET
                backends:
                - {service: {name: user-service, port: 8080}, weight: 90}
                - {addresses: [10.2.0.10], port: 8080, weight: 0}
              accessLog: {headers: [User-Agent]}
              sourceRanges: {allow: [198.51.100.0/24], deny: [198.51.100.66/32]}
              rateLimit: {requestsPerSecond: 100, burst: 200}
            status:
              observedGeneration: 2
              listener: 10.96.0.10:443/HTTPS
              rules: 1
              backends: {ready: 4, total: 5}
              backendsReady: 4/5
              nodes: {selected: 3, programmed: 2}
              nodesReady: 2/3
              conditions:
              - {type: Accepted, status: "True", reason: Accepted}
              - {type: ResolvedRefs, status: "False", reason: BackendNotFound, message: "service shop/user-service not found"}
              - {type: Programmed, status: "False", reason: NodesPending, observedGeneration: 2}
              failingNodes:
              - {name: node-c, reason: ListenerConflict, message: "10.96.0.10:443 belongs to shop/other"}
            """
        let document = try yamlDocument(yaml).value
        let route = try GatewayRoute.decode(from: document)
        #expect(route.validate() == [])
        let expected = document.setting(["spec", "listener", "futureField"], to: nil)
        #expect(try route.jsonValue() == expected)
        #expect(try GatewayRoute.decode(from: route.jsonValue().jsonData()) == route)
        let status = try #require(route.status)
        #expect(status.condition("ResolvedRefs")?.reason == "BackendNotFound")
        #expect(status.failingNodes.first?.reason == "ListenerConflict")
    }

    @Test("a status built from counts writes the printer columns' text")
    func statusText() throws {
        let listener = GatewayListener(address: "10.96.0.10", port: 80, protocol: .tcp)
        let status = GatewayRouteStatus(
            observedGeneration: 3, listener: listener.displayText, rules: 1, backends: BackendCounts(ready: 4, total: 5),
            nodes: NodeCounts(selected: 3, programmed: 2))
        #expect(status.listener == "10.96.0.10:80/TCP")
        #expect(status.backendsReady == "4/5")
        #expect(status.nodesReady == "2/3")
        #expect(GatewayRouteStatus.maxFailingNodes == RouteTableStatus.maxFailingNodes)
        let json = try JSONValue(encoding: status)
        #expect(json["backendsReady"] == "4/5" && json["nodes"]?["programmed"] == 2 && json["failingNodes"] == [])
    }
}
