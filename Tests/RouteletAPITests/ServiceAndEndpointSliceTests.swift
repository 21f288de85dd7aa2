import Foundation
import JSONValue
import RouteletAPI
import Testing

@Suite struct ServiceAndEndpointSliceTests {
    /// As kube-apiserver serves it (trimmed of managedFields).
    static let serviceJSON = #"""
        {"apiVersion":"v1","kind":"Service","metadata":{"name":"user-service","namespace":"shop",
         "uid":"a7d1f0b2-3c4d-4e5f-8a9b-0c1d2e3f4a5b","resourceVersion":"1043","creationTimestamp":"2024-05-01T10:00:00Z",
         "labels":{"app":"users"}},
         "spec":{"clusterIP":"10.96.14.7","clusterIPs":["10.96.14.7"],"internalTrafficPolicy":"Cluster","ipFamilies":["IPv4"],
         "ipFamilyPolicy":"SingleStack","ports":[{"name":"http","port":8080,"protocol":"TCP","targetPort":"http-web"},
         {"name":"metrics","port":9090,"protocol":"TCP","targetPort":9090},{"name":"dns","port":8080,"protocol":"UDP","targetPort":53}],
         "selector":{"app":"users"},"sessionAffinity":"None","type":"ClusterIP"},
         "status":{"loadBalancer":{}}}
        """#

    static let sliceJSON = #"""
        {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","addressType":"IPv4",
         "metadata":{"name":"user-service-x7k2p","namespace":"shop","generateName":"user-service-","generation":5,
          "labels":{"endpointslice.kubernetes.io/managed-by":"endpointslice-controller.k8s.io","kubernetes.io/service-name":"user-service"},
          "ownerReferences":[{"apiVersion":"v1","kind":"Service","name":"user-service","uid":"a7d1f0b2-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
          "blockOwnerDeletion":true,"controller":true}],"resourceVersion":"2051"},
         "endpoints":[
          {"addresses":["10.244.1.12"],"conditions":{"ready":true,"serving":true,"terminating":false},"nodeName":"node-a",
           "targetRef":{"kind":"Pod","name":"users-7d9f-abcde","namespace":"shop","uid":"1b2c"},"zone":"zone-1"},
          {"addresses":["10.244.2.7"],"conditions":{"ready":false,"serving":true,"terminating":true},"nodeName":"node-b"},
          {"addresses":["10.244.3.3"],"conditions":{}},
          {"addresses":["10.244.3.4"]}],
         "ports":[{"name":"http","port":8081,"protocol":"TCP"},{"name":"metrics","port":9090,"protocol":"TCP"}]}
        """#

    @Test("a Service as the API server serves it decodes, with targetPort as a number or a name")
    func serviceDecodes() throws {
        let service = try KubernetesService.decode(from: Data(Self.serviceJSON.utf8))
        #expect(service.metadata.name == "user-service" && service.metadata.namespace == "shop")
        #expect(service.spec.clusterIP == "10.96.14.7")
        #expect(service.spec.ports.map(\.name) == ["http", "metrics", "dns"])
        #expect(service.spec.ports[0].targetPort == .string("http-web"))
        #expect(service.spec.ports[1].targetPort == .int(9090))
        #expect(service.port(8080)?.name == "http")
        #expect(service.port(8080, protocol: "UDP")?.name == "dns")
        #expect(service.port(1) == nil)
        // Round trip through the Swift type keeps what it reads.
        let again = try KubernetesService.decode(from: JSONValue(encoding: service))
        #expect(again == service)
        #expect(KubernetesService.Port(port: 80).effectiveProtocol == "TCP")
    }

    @Test("an EndpointSlice decodes, and absent conditions mean what Kubernetes says")
    func endpointSliceDecodes() throws {
        let slice = try EndpointSlice.decode(from: Data(Self.sliceJSON.utf8))
        #expect(slice.serviceName == "user-service")
        #expect(slice.addressType == .ipv4)
        #expect(slice.endpoints.map(\.addresses) == [["10.244.1.12"], ["10.244.2.7"], ["10.244.3.3"], ["10.244.3.4"]])
        let conditions = slice.endpoints.map(\.effectiveConditions)
        #expect(conditions.map(\.isReady) == [true, false, true, true])
        #expect(conditions.map(\.isServing) == [true, true, true, true])
        #expect(conditions.map(\.isTerminating) == [false, true, false, false])
        #expect(EndpointSlice.Conditions(ready: false).isServing == false, "serving defers to ready")
        #expect(slice.endpoints[0].nodeName == "node-a" && slice.endpoints[0].zone == "zone-1")
        #expect(slice.port(named: "http")?.port == 8081)
        #expect(slice.port(named: "http", protocol: "UDP") == nil)
        #expect(slice.port(named: nil) == nil)
        #expect(try EndpointSlice.decode(from: JSONValue(encoding: slice)) == slice)
    }

    @Test("wrong types in a Service or an EndpointSlice name the field; missing ones are empty")
    func lenientViews() throws {
        #expect(throws: ResourceDecodingError(path: "spec.ports[0].port", message: #"expected an integer, got "http""#)) {
            try KubernetesService.decode(from: ["spec": ["ports": [["port": "http"]]]])
        }
        #expect(throws: ResourceDecodingError(path: "endpoints[0].conditions.ready", message: #"expected a boolean, got "yes""#)) {
            try EndpointSlice.decode(from: ["endpoints": [["addresses": ["10.0.0.1"], "conditions": ["ready": "yes"]]]])
        }
        let empty = try EndpointSlice.decode(from: JSONValue.object([:]))
        #expect(empty.endpoints.isEmpty && empty.ports.isEmpty && empty.serviceName == nil && empty.addressType.rawValue.isEmpty)
        #expect(try KubernetesService.decode(from: JSONValue.object([:])).spec == KubernetesService.Spec())
    }
}
