@testable import APIServer
import Foundation
import JSONValue
import Testing

let gatewayRoutesPath = "/apis/routelet.dev/v1alpha1/namespaces/default/gatewayroutes"

func gatewayRouteObject(_ name: String, path: String = "/users") -> JSONValue {
    [
        "apiVersion": "routelet.dev/v1alpha1", "kind": "GatewayRoute", "metadata": ["name": .string(name)],
        "spec": [
            "listener": ["address": "10.96.0.10", "port": 80, "protocol": "HTTP"],
            "rules": [["matches": [["path": ["value": .string(path)]]], "backends": [["service": ["name": "users", "port": 8080]]]]],
        ],
    ]
}

@Suite struct GatewayRouteServingTests {
    @Test func aGatewayRouteIsNamespacedAndValidatedLikeTheAgentDoes() async throws {
        let server = try Server()
        defer { server.remove() }
        let created = await server.call("POST", gatewayRoutesPath, gatewayRouteObject("users"))
        #expect(created.status == 201, "\(created.body)")
        #expect(created.body.metadata("namespace") == "default")
        #expect(await server.call("GET", "\(gatewayRoutesPath)/users").status == 200)
        #expect(await server.call("GET", "/apis/routelet.dev/v1alpha1/gatewayroutes").body["items"]?.arrayValue?.count == 1)
        #expect(await server.call("POST", "/apis/routelet.dev/v1alpha1/gatewayroutes", gatewayRouteObject("x")).status == 400,
                "a namespaced kind needs a namespace")

        let invalid = await server.call("POST", gatewayRoutesPath, gatewayRouteObject("bad", path: "/a/../b"))
        #expect(invalid.status == 422)
        #expect(invalid.body["details"]?["causes"]?[0]?["field"] == "spec.rules[0].matches[0].path.value", "\(invalid.body)")
        #expect(invalid.body["details"]?["causes"]?[0]?["message"] == #"Invalid value: "/a/../b" must not contain "/../""#)
        #expect(invalid.body["details"]?["kind"] == "GatewayRoute", "\(invalid.body)")

        let status = await server.call("PUT", "\(gatewayRoutesPath)/users/status", created.body.setting(["status"], to: [
            "listener": "10.96.0.10:80/HTTP", "rules": 1, "backends": ["ready": 1, "total": 1], "backendsReady": "1/1",
        ]))
        #expect(status.status == 200 && status.body["status"]?["backendsReady"] == "1/1", "\(status.body)")
        let table = await server.call("GET", gatewayRoutesPath, accept: "application/json;as=Table;v=v1;g=meta.k8s.io")
        #expect(table.body["columnDefinitions"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
                == ["Name", "Listener", "Rules", "Backends", "Nodes", "Programmed", "Age"])
        #expect(table.body["rows"]?[0]?["cells"]?[1] == "10.96.0.10:80/HTTP" && table.body["rows"]?[0]?["cells"]?[2] == 1)
    }
}
