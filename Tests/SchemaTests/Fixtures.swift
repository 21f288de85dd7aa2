import Foundation
import JSONValue
import RouteletAPI
import Schema
import YAML

/// Shared inputs: the CRD files of this package and fully populated resources.
enum Fixtures {
    static let crdDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("crds")

    static func crdText(_ file: String) throws -> String {
        try String(contentsOf: crdDirectory.appendingPathComponent(file), encoding: .utf8)
    }

    static func crd(_ file: String) throws -> CustomResourceDefinition {
        try CustomResourceDefinition(yaml: crdText(file))
    }

    static func routeTableSchema() throws -> StructuralSchema {
        try crd("routetables.routelet.dev.yaml").storageVersion.schema
    }

    static func gatewayRouteSchema() throws -> StructuralSchema {
        try crd("gatewayroutes.routelet.dev.yaml").storageVersion.schema
    }

    static func routeletNodeSchema() throws -> StructuralSchema {
        try crd("routeletnodes.routelet.dev.yaml").storageVersion.schema
    }

    /// The one document of a YAML text.
    static func yaml(_ text: String) throws -> JSONValue {
        let documents = try YAML.parseDocuments(text)
        guard documents.count == 1 else { throw FixtureError(message: "expected one YAML document, got \(documents.count)") }
        return documents[0].value
    }

    struct FixtureError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// The example of design/api.md, with the status it shows.
    static let apiExample = """
        apiVersion: routelet.dev/v1alpha1
        kind: RouteTable
        metadata:
          name: edge
        spec:
          nodeSelector:
            matchLabels: {routelet.dev/role: edge}
          interfaces: [eth1, "veth*"]
          routes:
          - destination: 192.168.1.0/24
            gateway: 192.168.1.1
            interface: eth0
            metric: 10
          - destination: 10.0.0.0/8
            metric: 20
            nexthops:
            - {gateway: 10.0.0.1, interface: eth1, weight: 1}
            - {gateway: 10.0.0.2, interface: eth2, weight: 3}
          - destination: 0.0.0.0/0
            gateway: 192.168.1.1
            interface: eth0
            metric: 5
          - destination: 203.0.113.0/24
            type: Blackhole
        status:
          observedGeneration: 7
          routes: 4
          nodes: {selected: 3, programmed: 2}
          nodesReady: "2/3"
          conditions:
          - type: Accepted
            status: "True"
            reason: Accepted
          - type: Programmed
            status: "False"
            reason: NodesPending
            message: "node-c: interface eth2 not found"
            observedGeneration: 7
          failingNodes:
          - {name: node-c, reason: InterfaceNotFound, message: "eth2 not found"}
        """

    static func condition(_ type: String) -> Condition {
        Condition(
            type: type, status: .false, reason: "InterfaceNotFound", message: "eth2 not found", observedGeneration: 7,
            lastTransitionTime: "2024-05-01T10:00:00Z")
    }

    /// A RouteTable with every optional field set and every list non-empty
    /// (somewhere), so that its JSON shows every field the type can write.
    static let fullRouteTable = RouteTable(
        metadata: ObjectMeta(name: "edge", generation: 7, labels: ["team": "net"]),
        spec: RouteTableSpec(
            nodeSelector: LabelSelector(
                matchLabels: ["routelet.dev/role": "edge"],
                matchExpressions: [LabelSelectorRequirement(key: "zone", operator: .in, values: ["a", "b"])]),
            interfaces: ["eth1", "veth*"],
            routes: [
                Route(destination: "192.168.1.0/24", gateway: "192.168.1.1", interface: "eth0", metric: 10, type: .unicast),
                Route(
                    destination: "10.0.0.0/8", metric: 20,
                    nexthops: [
                        NextHop(gateway: "10.0.0.1", interface: "eth1", weight: 1),
                        NextHop(gateway: "10.0.0.2", interface: "eth2", weight: 3),
                    ]),
                Route(destination: "203.0.113.0/24", type: .blackhole),
            ]),
        status: RouteTableStatus(
            observedGeneration: 7, routes: 3, nodes: .init(selected: 3, programmed: 2),
            conditions: [condition("Programmed")],
            failingNodes: [.init(name: "node-c", reason: "InterfaceNotFound", message: "eth2 not found")]))

    /// A RouteletNode with every optional field set and every list non-empty.
    static let fullRouteletNode = RouteletNode(
        metadata: ObjectMeta(name: "node-a"),
        spec: RouteletNodeSpec(),
        status: RouteletNodeStatus(
            agentVersion: "0.1.0",
            dataplane: .init(abiVersion: 1, attachedInterfaces: ["eth1", "veth3"]),
            restoredAt: "2024-05-01T10:00:00Z",
            tables: [
                .init(
                    name: "edge", observedGeneration: 7, interfaces: ["eth1"], routes: .init(desired: 4, installed: 3, down: 1),
                    conditions: [condition("Programmed")])
            ],
            gatewayRoutes: [
                .init(namespace: "shop", name: "users", observedGeneration: 2, backends: .init(ready: 4, total: 5), conditions: [condition("Programmed")])
            ],
            conditions: [Condition(type: "Ready", status: .true, reason: "Ready", message: "all tables programmed", observedGeneration: 1,
                                   lastTransitionTime: "2024-05-01T10:00:00Z")]))

    /// The GatewayRoute example of design/api.md, with a status.
    static let gatewayAPIExample = """
        apiVersion: routelet.dev/v1alpha1
        kind: GatewayRoute
        metadata: {name: users, namespace: shop}
        spec:
          nodeSelector: {matchLabels: {routelet.dev/role: gateway}}
          interfaces: [eth1]
          listener:
            address: 10.96.0.10
            port: 443
            protocol: HTTPS
            tls: {secretName: users-cert}
          hostnames: [api.example.com, "*.example.com"]
          rules:
          - matches:
            - path: {type: PathPrefix, value: /users}
              headers:
              - {name: X-User-Role, value: admin}
              - {name: X-Region, value: us-west}
              queryParams:
              - {name: tier, value: gold}
              method: GET
            backends:
            - service: {name: user-service, port: 8080}
              weight: 90
            - addresses: [10.2.0.10, 10.2.0.11]
              port: 8080
              weight: 10
          accessLog:
            headers: [X-User-Role, X-Region, User-Agent]
          sourceRanges:
            allow: [198.51.100.0/24]
            deny: [198.51.100.66/32]
          rateLimit:
            requestsPerSecond: 100
            burst: 200
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
          - {type: ResolvedRefs, status: "True", reason: ResolvedRefs}
          - {type: Programmed, status: "False", reason: NodesPending, observedGeneration: 2}
          failingNodes:
          - {name: node-c, reason: ListenerConflict, message: "10.96.0.10:443 belongs to shop/other"}
        """

    /// A GatewayRoute with every optional field set and every list non-empty
    /// (somewhere). It is not a valid route (tls and the TCP options together),
    /// only a complete one.
    static let fullGatewayRoute = GatewayRoute(
        metadata: ObjectMeta(name: "users", namespace: "shop", generation: 2),
        spec: GatewayRouteSpec(
            nodeSelector: LabelSelector(
                matchLabels: ["routelet.dev/role": "gateway"],
                matchExpressions: [LabelSelectorRequirement(key: "zone", operator: .in, values: ["a"])]),
            interfaces: ["eth1", "veth*"],
            listener: GatewayListener(
                address: "10.96.0.10", port: 443, protocol: .https, tls: GatewayTLS(secretName: "users-cert"),
                preserveClientIP: true, maglevTableSize: 65537, idleTimeoutSeconds: 3600),
            hostnames: ["api.example.com", "*.example.com"],
            rules: [
                GatewayRule(
                    matches: [
                        HTTPMatch(
                            path: HTTPPathMatch(type: .pathPrefix, value: "/users"),
                            headers: [HTTPHeaderMatch(name: "X-User-Role", value: "admin", type: .exact)],
                            queryParams: [HTTPQueryParamMatch(name: "tier", value: "gold|silver", type: .regularExpression)],
                            method: "GET")
                    ],
                    backends: [
                        GatewayBackend(service: GatewayServiceRef(name: "user-service", port: 8080), weight: 90),
                        GatewayBackend(addresses: ["10.2.0.10", "10.2.0.11"], port: 8080, weight: 10),
                    ])
            ],
            accessLog: GatewayAccessLog(headers: ["User-Agent"]),
            sourceRanges: GatewaySourceRanges(allow: ["198.51.100.0/24"], deny: ["198.51.100.66/32"]),
            rateLimit: GatewayRateLimit(requestsPerSecond: 100, burst: 200)),
        status: GatewayRouteStatus(
            observedGeneration: 2, listener: "10.96.0.10:443/HTTPS", rules: 1, backends: BackendCounts(ready: 4, total: 5),
            nodes: NodeCounts(selected: 3, programmed: 2), conditions: [condition("Programmed")],
            failingNodes: [FailingNode(name: "node-c", reason: "ListenerConflict", message: "10.96.0.10:443 belongs to shop/other")]))
}
