import Foundation
import NetLab
import Testing

let usersRoute = """
    apiVersion: routelet.dev/v1alpha1
    kind: GatewayRoute
    metadata:
      name: users
      namespace: shop
    spec:
      listener: {address: 10.96.0.10, port: 80, protocol: HTTP}
      hostnames: [api.example.com]
      rules:
      - matches:
        - path: {type: PathPrefix, value: /users}
          headers: [{name: X-User-Role, value: admin}]
        backends:
        - service: {name: user-service, port: 8080}
          weight: 90
        - {addresses: [10.2.0.10], port: 8080, weight: 10}
    """

/// `kubectl create namespace` sends protobuf, which the server does not
/// speak; apply sends JSON.
let shopNamespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"

/// kubectl against `routelet apiserver`: GatewayRoutes in a namespace.
@Suite(.serialized) struct KubectlGatewayRouteTests {
    @Test(arguments: kubectlBinaries())
    func theGatewayRouteWorkflow(kubectl: String) throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let isOld = kubectl.contains("kubectl-debian")
        func run(_ arguments: String..., input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
            let arguments = isOld && arguments.first == "apply" ? arguments + ["--validate=false"] : arguments
            return try server.kubectl(arguments, binary: kubectl, input: input)
        }

        let resources = try run("api-resources", "--namespaced=true")
        let line = resources.stdout.split(separator: "\n").first { $0.hasPrefix("gatewayroutes ") }
        #expect(line?.contains(" gwr ") == true && line?.contains("routelet.dev/v1alpha1") == true, "\(resources)")

        #expect(try run("apply", "-f", "-", input: shopNamespace).status == 0)
        let created = try run("apply", "-f", "-", input: usersRoute)
        #expect(created.status == 0 && created.stdout.contains("gatewayroute.routelet.dev/users created"), "\(created)")
        let unchanged = try run("apply", "-f", "-", input: usersRoute)
        #expect(unchanged.stdout.contains("gatewayroute.routelet.dev/users unchanged"), "\(unchanged)")
        let changed = try run("apply", "-f", "-", input: usersRoute.replacingOccurrences(of: "weight: 90", with: "weight: 80"))
        #expect(changed.stdout.contains("gatewayroute.routelet.dev/users configured"), "\(changed)")
        let yaml = try run("get", "gwr", "users", "-n", "shop", "-o", "yaml")
        #expect(yaml.stdout.contains("weight: 80") && yaml.stdout.contains("generation: 2") && yaml.stdout.contains("namespace: shop"), "\(yaml)")

        if !isOld {
            // The aggregator's write, through the status subresource.
            let status = #"{"status":{"listener":"10.96.0.10:80/HTTP","rules":1,"backends":{"ready":1,"total":2},"backendsReady":"1/2","nodes":{"selected":2,"programmed":2},"nodesReady":"2/2","conditions":[{"type":"Programmed","status":"True","reason":"Programmed"}]}}"#
            let patched = try run("patch", "gwr", "users", "-n", "shop", "--subresource=status", "--type=merge", "-p", status)
            #expect(patched.status == 0, "\(patched)")
        }
        let get = try run("get", "gwr", "-n", "shop")
        #expect(get.status == 0, "\(get.stderr)")
        let rows = get.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(rows.first == ["NAME", "LISTENER", "RULES", "BACKENDS", "NODES", "PROGRAMMED", "AGE"], "\(get.stdout)")
        if !isOld {
            #expect(rows.dropFirst().first?.prefix(6) == ["users", "10.96.0.10:80/HTTP", "1", "1/2", "2/2", "True"], "\(get.stdout)")
        }
        let elsewhere = try run("get", "gwr", "-n", "default")
        #expect(elsewhere.status == 0 && !elsewhere.stdout.contains("users"), "namespaced: \(elsewhere)")
        let all = try run("get", "gwr", "-A")
        #expect(all.stdout.contains("shop") && all.stdout.contains("users"), "\(all)")

        let invalid = try run("apply", "-f", "-", input: usersRoute.replacingOccurrences(of: "value: /users", with: "value: /users//x"))
        #expect(invalid.status != 0)
        #expect(invalid.stderr.contains("spec.rules[0].matches[0].path.value") && invalid.stderr.contains(#"must not contain "//""#),
                "\(invalid.stderr)")
        let tcpWithMatches = try run("apply", "-f", "-", input: usersRoute.replacingOccurrences(of: "protocol: HTTP", with: "protocol: TCP"))
        #expect(tcpWithMatches.status != 0)
        #expect(tcpWithMatches.stderr.contains("spec.rules[0].matches") && tcpWithMatches.stderr.contains("a TCP listener takes no matches"),
                "\(tcpWithMatches.stderr)")

        #expect(try run("apply", "-f", "-", input: edgeTable).status == 0)
        let category = try run("get", "routelet", "-n", "shop")
        #expect(category.status == 0, "\(category)")
        #expect(category.stdout.contains("gatewayroute.routelet.dev/users") && category.stdout.contains("routetable.routelet.dev/edge"),
                "\(category.stdout)")

        let deleted = try run("delete", "gwr", "users", "-n", "shop")
        #expect(deleted.stdout.contains("gatewayroute.routelet.dev \"users\" deleted"), "\(deleted)")
    }
}
