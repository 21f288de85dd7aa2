import Foundation
import JSONValue
import RouteletAPI
import Testing
import YAML

@Suite struct RouteTableCodingTests {
    static let badTypes: [(String, String)] = [
        ("interfaces: [eth0]\nroutes: [{destination: 10.0.0.0/8, interface: eth0, metric: ten}]",
         #"spec.routes[0].metric: expected an integer, got "ten""#),
        ("interfaces: eth0", #"spec.interfaces: expected a list, got "eth0""#),
        ("interfaces: [eth0, 7]", "spec.interfaces[1]: expected a string, got 7"),
        ("interfaces: [eth0]\nroutes: [{destination: 10.0.0.0/8, interface: eth0, metric: -1}]",
         "spec.routes[0].metric: -1 is out of range (0-4294967295)"),
        ("interfaces: [eth0]\nroutes: [{destination: 10.0.0.0/8, interface: eth0, metric: 4294967296}]",
         "spec.routes[0].metric: 4294967296 is out of range (0-4294967295)"),
        ("interfaces: [eth0]\nroutes: [{destination: 10.0.0.0/8, interface: eth0, metric: 1.5}]",
         "spec.routes[0].metric: expected an integer, got 1.5"),
        ("interfaces: [eth0]\nroutes: [{destination: 10.0.0.0/8, nexthops: [{interface: eth0, weight: 1e30}]}]",
         "spec.routes[0].nexthops[0].weight: 1e+30 is out of range (-9223372036854775808 to 9223372036854775807)"),
        ("interfaces: [eth0]\nroutes: [{destination: 10.0.0.0/8, nexthops: [{interface: eth0, weight: .inf}]}]",
         "spec.routes[0].nexthops[0].weight: expected a finite number, got .inf"),
        ("interfaces: [eth0]\nroutes: {destination: 10.0.0.0/8}", "spec.routes: expected a list, got an object"),
        ("interfaces: [eth0]\nroutes: [{destination: [10.0.0.0/8]}]", "spec.routes[0].destination: expected a string, got a list"),
        ("nodeSelector: {matchLabels: {role: [a]}}\ninterfaces: [eth0]", "spec.nodeSelector.matchLabels.role: expected a string, got a list"),
        ("interfaces: [eth0]\nroutes: [{destination: 10.0.0.0/8, type: 3}]", "spec.routes[0].type: expected a string, got 3"),
    ]

    @Test("a value of the wrong type names its field", arguments: badTypes)
    func wrongTypeNamesField(spec: String, expected: String) throws {
        do {
            let table = try routeTable(manifest(spec: spec))
            Issue.record("decoded: \(table)")
        } catch let error as ResourceDecodingError {
            #expect(error.description == expected)
        }
    }

    @Test("decoding JSON text reports the same paths; bad JSON is an error")
    func decodingFromData() throws {
        let json = #"{"apiVersion":"routelet.dev/v1alpha1","kind":"RouteTable","metadata":{"name":"a"},"spec":{"interfaces":["eth0"],"routes":[{"destination":"10.0.0.0/8","interface":"eth0","metric":"ten"}]}}"#
        #expect(throws: ResourceDecodingError(path: "spec.routes[0].metric", message: #"expected an integer, got "ten""#)) {
            try RouteTable.decode(from: Data(json.utf8))
        }
        #expect(throws: ResourceDecodingError.self) { try RouteTable.decode(from: Data("{".utf8)) }
        #expect(throws: ResourceDecodingError(path: "", message: "expected an object, got a list")) {
            try RouteTable.decode(from: JSONValue.array([]))
        }
    }

    @Test("Kubernetes JSON round-trips; unknown fields are ignored; nils are left out")
    func roundTrip() throws {
        let table = try routeTable("""
            apiVersion: routelet.dev/v1alpha1
            kind: RouteTable
            metadata:
              name: edge
              uid: 6f1c0d2e-1111-2222-3333-444455556666
              resourceVersion: "42"
              generation: 7
              creationTimestamp: "2024-05-01T10:00:00Z"
              labels: {team: net}
              finalizers: [routelet.dev/cleanup]
              managedFields: [{manager: kubectl}]
            spec:
              futureField: true
              interfaces: [eth1]
              routes:
              - {destination: 10.0.0.0/8, gateway: 10.0.0.1, interface: eth0, metric: 4294967295, extra: 1}
              - {destination: 10.1.0.0/16, nexthops: [{interface: eth1, weight: 256}]}
            status:
              observedGeneration: 7
              routes: 2
              nodes: {selected: 3, programmed: 2}
              nodesReady: "2/3"
              conditions:
              - {type: Accepted, status: "True", reason: Accepted}
              - {type: Programmed, status: "False", reason: NodesPending, message: "node-c: interface eth2 not found", observedGeneration: 7}
              failingNodes:
              - {name: node-c, reason: InterfaceNotFound, message: eth2 not found}
            """)
        #expect(table.metadata.generation == 7)
        #expect(table.spec.routes[0].metric == .max)
        #expect(table.status?.nodes == .init(selected: 3, programmed: 2))
        #expect(table.status?.condition("Programmed")?.status == .false)
        #expect(table.status?.failingNodes.first?.name == "node-c")

        let json = try table.jsonValue()
        #expect(json["metadata"]?["managedFields"] == nil)
        #expect(json["metadata"]?["namespace"] == nil)
        #expect(json["metadata"]?["deletionTimestamp"] == nil)
        #expect(json["spec"]?["futureField"] == nil)
        #expect(json["spec"]?["routes"]?[0]?["type"] == nil)
        #expect(json["spec"]?["routes"]?[0]?["metric"] == 4294967295)
        #expect(json["spec"]?["nodeSelector"] == nil)
        #expect(json["status"]?["conditions"]?[0]?["status"] == "True")
        #expect(try RouteTable.decode(from: json) == table)
        #expect(try RouteTable.decode(from: json.jsonData()) == table)
    }

    @Test("a table built in code encodes apiVersion and kind")
    func builtInCode() throws {
        let table = RouteTable(
            metadata: ObjectMeta(name: "edge"),
            spec: RouteTableSpec(interfaces: ["eth1"], routes: [Route(destination: "203.0.113.0/24", type: .blackhole)]))
        let json = try table.jsonValue()
        #expect(json["apiVersion"] == "routelet.dev/v1alpha1")
        #expect(json["kind"] == "RouteTable")
        #expect(json["spec"]?["routes"]?[0] == ["destination": "203.0.113.0/24", "type": "Blackhole"])
        #expect(table.validate() == [])
        #expect(RouteTableStatus(nodes: .init(selected: 3, programmed: 2)).nodesReady == "2/3")
    }
}
