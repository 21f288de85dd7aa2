import Foundation
import NetLab
import Testing

let edgeTable = """
    apiVersion: routelet.dev/v1alpha1
    kind: RouteTable
    metadata:
      name: edge
    spec:
      interfaces: [eth1, "veth*"]
      routes:
      - {destination: 192.168.1.0/24, gateway: 192.168.1.1, interface: eth0, metric: 10}
      - {destination: 203.0.113.0/24, type: Blackhole}
    """

/// kubectl binaries to try: the machine's, and Debian's kubernetes-client
/// (unpacked by `make test` into .build/kubectl-debian, an older release).
func kubectlBinaries() -> [String] {
    var binaries = ["kubectl"]
    let debian = FileManager.default.currentDirectoryPath + "/.build/kubectl-debian/usr/bin/kubectl"
    if FileManager.default.isExecutableFile(atPath: debian) { binaries.append(debian) }
    return binaries
}

/// The real kubectl against `routelet apiserver`, over HTTPS with the
/// emitted kubeconfig.
@Suite(.serialized) struct KubectlTests {
    @Test(arguments: kubectlBinaries())
    func theKubectlWorkflow(kubectl: String) throws {
        let server = try ServerProcess()
        defer { server.stop() }
        // kubectl before 1.27 validates on the client with the protobuf form
        // of OpenAPI v2, which this server does not serve: the server still
        // validates everything itself.
        let isOld = kubectl.contains("kubectl-debian")
        func run(_ arguments: String..., input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
            let arguments = isOld && arguments.first == "apply" ? arguments + ["--validate=false"] : arguments
            return try server.kubectl(arguments, binary: kubectl, input: input)
        }

        let resources = try run("api-resources")
        #expect(resources.status == 0, "\(resources.stderr)")
        let rtLine = resources.stdout.split(separator: "\n").first { $0.hasPrefix("routetables ") }
        #expect(rtLine?.contains(" rt ") == true && rtLine?.contains("routelet.dev/v1alpha1") == true, "\(resources.stdout)")
        #expect(resources.stdout.split(separator: "\n").contains { $0.hasPrefix("routeletnodes ") && $0.contains(" rn ") })

        let created = try run("apply", "-f", "-", input: edgeTable)
        #expect(created.status == 0 && created.stdout.contains("routetable.routelet.dev/edge created"), "\(created)")
        let unchanged = try run("apply", "-f", "-", input: edgeTable)
        #expect(unchanged.stdout.contains("routetable.routelet.dev/edge unchanged"), "\(unchanged)")
        let changed = try run("apply", "-f", "-", input: edgeTable.replacingOccurrences(of: "metric: 10", with: "metric: 20"))
        #expect(changed.stdout.contains("routetable.routelet.dev/edge configured"), "\(changed)")

        let get = try run("get", "rt")
        #expect(get.status == 0, "\(get.stderr)")
        let header = get.stdout.split(separator: "\n").first.map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(header == ["NAME", "INTERFACES", "ROUTES", "NODES", "PROGRAMMED", "AGE"], "\(get.stdout)")
        #expect(get.stdout.contains("edge"))

        let yaml = try run("get", "rt", "edge", "-o", "yaml")
        #expect(yaml.stdout.contains("metric: 20") && yaml.stdout.contains("generation: 2"), "\(yaml.stdout)")

        let describe = try run("describe", "rt", "edge")
        #expect(describe.status == 0 && describe.stdout.contains("Name:") && describe.stdout.contains("edge"), "\(describe)")

        let invalid = try run("apply", "-f", "-", input: edgeTable.replacingOccurrences(of: "203.0.113.0/24", with: "203.0.113.1/24"))
        #expect(invalid.status != 0)
        #expect(invalid.stderr.contains("spec.routes[1].destination") && invalid.stderr.contains("has host bits set"), "\(invalid.stderr)")

        // get -w sees a change.
        let watcher = try Command.start([kubectl, "--kubeconfig", server.kubeconfig, "get", "rt", "-w", "--output-watch-events", "--request-timeout", "8s"])
        Thread.sleep(forTimeInterval: 1.5)
        _ = try run("label", "rt", "edge", "seen=yes")
        Thread.sleep(forTimeInterval: 1.5)
        let watched = watcher.stop()
        #expect(watched.stdout.contains("MODIFIED") && watched.stdout.contains("edge"), "watch output: \(watched)")

        let deleted = try run("delete", "rt", "edge")
        #expect(deleted.stdout.contains("routetable.routelet.dev \"edge\" deleted"), "\(deleted)")
        let gone = try run("get", "rt", "edge")
        #expect(gone.status != 0 && gone.stderr.contains("NotFound"), "\(gone)")
    }
}
