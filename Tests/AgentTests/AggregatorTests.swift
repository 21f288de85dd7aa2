import Agent
import Foundation
import JSONValue
import KubeClient
import Logging
import NetLab
import RouteletAPI
import Testing

/// The aggregator against the embedded API server, with simulated nodes:
/// a client writes Nodes and RouteletNodes as 50 agents would.
@Suite(.serialized) struct AggregatorTests {
    static let logger = Logger(label: "test.aggregator")

    @Test func fiftySimulatedNodesConvergeToTheCorrectAggregate() async throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let client = try KubeClient(config: KubeConfig.load(path: server.kubeconfig))

        // Table "edge" selects the 40 nodes labelled role=edge, at generation 1.
        _ = try await client.create(.routeTables, [
            "apiVersion": "routelet.dev/v1alpha1", "kind": "RouteTable", "metadata": ["name": "edge"],
            "spec": ["nodeSelector": ["matchLabels": ["role": "edge"]], "interfaces": ["eth1"],
                     "routes": [["destination": "10.0.0.0/8", "type": "Blackhole"]]],
        ])
        // Nodes 0..<40 edge, 40..<50 core. Of the edge nodes: 0..<30 programmed,
        // 30..<35 failing, 35..<40 silent (no report yet).
        try await withThrowingTaskGroup { group in
            for index in 0..<50 {
                group.addTask {
                    let name = String(format: "node-%02d", index)
                    _ = try await client.create(.nodes, [
                        "apiVersion": "v1", "kind": "Node",
                        "metadata": ["name": .string(name), "labels": ["role": index < 40 ? "edge" : "core"]],
                    ])
                    guard index < 35 else { return }
                    try await Self.report(client, node: name, programmed: index < 30)
                }
            }
            try await group.waitForAll()
        }

        let aggregator = Task {
            try await AggregatorService(client: client, identity: "node-00", namespace: "routelet-system",
                                        leaseDuration: .seconds(3), logger: Self.logger).run()
        }
        defer { aggregator.cancel() }

        var status = try await waitForStatus(client, "edge") { $0.nodesReady == "30/40" }
        #expect(status.nodes == .init(selected: 40, programmed: 30))
        #expect(status.condition("Programmed")?.reason == "NodeErrors")
        #expect(status.failingNodes.map(\.name) == (30..<35).map { String(format: "node-%02d", $0) })

        // The failing ones recover, the silent ones report, a core node's
        // report is ignored, and two edge nodes leave the cluster.
        for index in 30..<40 { try await Self.report(client, node: String(format: "node-%02d", index), programmed: true) }
        try await Self.report(client, node: "node-45", programmed: false)
        try await client.delete(.nodes, name: "node-00")
        try await client.delete(.nodes, name: "node-01")
        status = try await waitForStatus(client, "edge") { $0.nodesReady == "38/38" }
        #expect(status.condition("Programmed")?.status == .true)
        #expect(status.failingNodes.isEmpty)

        // Nothing changes: the table is not written again.
        let version = try await client.get(.routeTables, name: "edge")["metadata"]?["resourceVersion"]
        try await Task.sleep(for: .seconds(2))
        #expect(try await client.get(.routeTables, name: "edge")["metadata"]?["resourceVersion"] == version)
    }

    @Test func anotherCandidateTakesOverWhenTheLeaseLapses() async throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let client = try KubeClient(config: KubeConfig.load(path: server.kubeconfig))
        let first = Task {
            try await AggregatorService(client: client, identity: "first", namespace: "routelet-system",
                                        leaseDuration: .seconds(3), logger: Self.logger).run()
        }
        try await waitForHolder(client, "first")
        let second = Task {
            try await AggregatorService(client: client, identity: "second", namespace: "routelet-system",
                                        leaseDuration: .seconds(3), logger: Self.logger).run()
        }
        defer { second.cancel() }
        try await Task.sleep(for: .seconds(4))
        #expect(try await holder(client) == "first", "a renewed lease is not taken over")

        first.cancel()
        let lapsed = ContinuousClock.now
        try await waitForHolder(client, "second", timeout: 15)
        let takeover = ContinuousClock.now - lapsed
        #expect(takeover < .seconds(8), "took over after \(takeover)")
        let lease = try await client.get(.leases, name: "routelet-aggregator", namespace: "routelet-system")
        #expect(lease["spec"]?["leaseTransitions"] == 1)
    }

    /// A RouteletNode as an agent would write it, for table "edge" at generation 1.
    static func report(_ client: KubeClient, node: String, programmed: Bool) async throws {
        do {
            _ = try await client.create(.routeletNodes, ["apiVersion": "routelet.dev/v1alpha1", "kind": "RouteletNode", "metadata": ["name": .string(node)]])
        } catch let error as KubeError where error.isAlreadyExists {
        }
        let condition = Condition(type: "Programmed", status: programmed ? .true : .false,
                                  reason: programmed ? "Programmed" : "InterfaceNotFound",
                                  message: programmed ? "1 prefixes installed" : "interface eth1 not found", observedGeneration: 1)
        let status = RouteletNodeStatus(tables: [.init(name: "edge", observedGeneration: 1, interfaces: programmed ? ["eth1"] : [],
                                                       routes: .init(desired: 1, installed: programmed ? 1 : 0), conditions: [condition])])
        _ = try await client.updateStatus(.routeletNodes, name: node) { object in
            object["status"] = try JSONValue(encoding: status)
            return true
        }
    }

    func waitForStatus(_ client: KubeClient, _ name: String, timeout: Double = 20,
                       _ condition: (RouteTableStatus) -> Bool) async throws -> RouteTableStatus {
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        var last: RouteTableStatus?
        while ContinuousClock.now < deadline {
            last = try await client.get(RouteTable.self, .routeTables, name: name).status
            if let last, condition(last) { return last }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("RouteTable \(name) status did not converge within \(timeout) s; last: \(String(describing: last))")
    }

    func holder(_ client: KubeClient) async throws -> String? {
        let lease = try? await client.get(.leases, name: "routelet-aggregator", namespace: "routelet-system")
        return lease?["spec"]?["holderIdentity"]?.stringValue
    }

    func waitForHolder(_ client: KubeClient, _ identity: String, timeout: Double = 10) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        while ContinuousClock.now < deadline {
            if try await holder(client) == identity { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("\(identity) did not hold the lease within \(timeout) s")
    }
}
