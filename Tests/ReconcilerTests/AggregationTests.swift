import Reconciler
import RouteletAPI
import Testing

/// A valid table named "edge" at `generation` with `routes` distinct routes.
private func edgeTable(generation: Int64? = 7, selector: LabelSelector? = nil, routes: Int = 2) -> RouteTable {
    let routes = (0..<routes).map { Route(destination: "10.\($0 / 256).\($0 % 256).0/24", interface: "eth0") }
    return RouteTable(
        metadata: ObjectMeta(name: "edge", generation: generation),
        spec: RouteTableSpec(nodeSelector: selector, interfaces: ["eth1"], routes: routes))
}

/// A node agent's status with one entry for `table`; `programmed` nil leaves the condition out.
private func nodeReport(
    table: String = "edge", generation: Int64? = 7, programmed: ConditionStatus?, reason: String? = nil,
    message: String? = nil
) -> RouteletNodeStatus {
    let conditions = programmed.map { [Condition(type: "Programmed", status: $0, reason: reason, message: message)] } ?? []
    return RouteletNodeStatus(tables: [.init(name: table, observedGeneration: generation, conditions: conditions)])
}

private func clusterNodes(_ names: [String], labels: [String: String] = [:]) -> [Aggregation.Node] {
    names.map { Aggregation.Node(name: $0, labels: labels) }
}

private let programmedReport = nodeReport(programmed: .true, reason: "Programmed")
private let t1 = "2024-05-01T10:00:00Z"
private let t2 = "2024-05-01T10:05:00Z"
private let t3 = "2024-05-01T10:10:00Z"

@Suite struct AggregationTests {
    @Test func everySelectedNodeAtTheCurrentGenerationMakesTheTableProgrammed() {
        let status = Aggregation.status(
            of: edgeTable(routes: 4), nodes: clusterNodes(["node-a", "node-b", "node-c"]),
            reports: ["node-a": programmedReport, "node-b": programmedReport, "node-c": programmedReport],
            previous: nil, now: t1)
        let expected = RouteTableStatus(
            observedGeneration: 7, routes: 4, nodes: .init(selected: 3, programmed: 3), nodesReady: "3/3",
            conditions: [
                Condition(type: "Accepted", status: .true, reason: "Accepted", message: "spec is valid",
                          observedGeneration: 7, lastTransitionTime: t1),
                Condition(type: "Programmed", status: .true, reason: "Programmed", message: "programmed on 3 nodes",
                          observedGeneration: 7, lastTransitionTime: t1),
            ],
            failingNodes: [])
        #expect(status == expected, "an all-programmed table should be Accepted and Programmed on 3/3 nodes")
    }

    @Test func anInvalidSpecIsNotAcceptedAndNamesTheFieldInTheMessage() throws {
        var table = edgeTable()
        table.spec.routes[1].destination = "10.0.0.1/8"
        let status = Aggregation.status(
            of: table, nodes: clusterNodes(["node-a"]), reports: ["node-a": programmedReport], previous: nil, now: t1)
        let accepted = try #require(status.condition("Accepted"))
        #expect(accepted.status == .false && accepted.reason == "Invalid")
        #expect(accepted.message?.hasPrefix("spec.routes[1].destination: ") == true, "message: \(accepted.message ?? "nil")")
        let programmed = try #require(status.condition("Programmed"))
        #expect(programmed.status == .false && programmed.reason == "Invalid")
        #expect(status.conditions.map(\.type) == ["Accepted", "Programmed"])
        #expect(status.conditions.allSatisfy { $0.observedGeneration == 7 })
    }

    @Test func manyProblemsAreCappedAtOneKiBWithACountOfTheRest() throws {
        var table = edgeTable(routes: 300)
        for index in table.spec.routes.indices { table.spec.routes[index].destination = "10.0.\(index % 256).1/24" }
        let total = table.validate(maxErrors: .max).count
        #expect(total >= 300)
        let status = Aggregation.status(of: table, nodes: [], reports: [:], previous: nil, now: t1)
        let message = try #require(status.condition("Accepted")?.message)
        #expect(message.utf8.count <= Aggregation.maxMessageBytes, "message is \(message.utf8.count) bytes")
        let match = try #require(message.firstMatch(of: /; and (\d+) more$/), "should end in \"and N more\": \(message)")
        let shown = message.ranges(of: "spec.routes[").count
        #expect(shown > 0 && Int(match.1).map { $0 + shown } == total, "shown + \"and N more\" should count every problem")
    }

    @Test func aSelectorThatMatchesNoNodeReportsNoNodesSelected() throws {
        let table = edgeTable(selector: LabelSelector(matchLabels: ["routelet.dev/role": "edge"]))
        let status = Aggregation.status(
            of: table, nodes: clusterNodes(["node-a", "node-b"], labels: ["routelet.dev/role": "core"]),
            reports: ["node-a": programmedReport], previous: nil, now: t1)
        let programmed = try #require(status.condition("Programmed"))
        #expect(programmed.status == .false && programmed.reason == "NoNodesSelected")
        #expect(programmed.message?.contains("spec.nodeSelector") == true, "message: \(programmed.message ?? "nil")")
        #expect(status.nodes == .init(selected: 0, programmed: 0) && status.nodesReady == "0/0")
        #expect(status.condition("Accepted")?.status == .true)
    }

    @Test func failingNodesComeFirstAreSortedAndNameTheFirstFailure() throws {
        let failing = nodeReport(programmed: .false, reason: "InterfaceNotFound", message: "interface eth2 not found")
        let other = nodeReport(programmed: .false, reason: "InterfaceDown", message: "interface eth3 is down")
        let status = Aggregation.status(
            of: edgeTable(), nodes: clusterNodes(["node-e", "node-a", "node-c", "node-b", "node-d"]),
            reports: ["node-a": programmedReport, "node-c": failing, "node-d": other, "node-e": other],
            previous: nil, now: t1)
        let programmed = try #require(status.condition("Programmed"))
        #expect(programmed.status == .false && programmed.reason == "NodeErrors")
        #expect(programmed.message == "node-c: interface eth2 not found (and 2 more nodes)")
        #expect(status.failingNodes == [
            .init(name: "node-c", reason: "InterfaceNotFound", message: "interface eth2 not found"),
            .init(name: "node-d", reason: "InterfaceDown", message: "interface eth3 is down"),
            .init(name: "node-e", reason: "InterfaceDown", message: "interface eth3 is down"),
        ])
        #expect(status.nodes == .init(selected: 5, programmed: 1) && status.nodesReady == "1/5")
    }

    @Test func aVeryLongNodeMessageIsCapped() throws {
        let long = String(repeating: "interface ethX not found; ", count: 200)
        let status = Aggregation.status(
            of: edgeTable(), nodes: clusterNodes(["node-a"]),
            reports: ["node-a": nodeReport(programmed: .false, reason: "InterfaceNotFound", message: long)],
            previous: nil, now: t1)
        let message = try #require(status.condition("Programmed")?.message)
        #expect(message.utf8.count <= Aggregation.maxMessageBytes && message.hasPrefix("node-a: interface ethX"))
        #expect(status.failingNodes.first.map { $0.message.utf8.count <= Aggregation.maxMessageBytes } == true)
    }

    @Test func everyKindOfMissingOrStaleReportCountsAsPending() throws {
        let reports: [String: RouteletNodeStatus] = [
            "node-a": programmedReport,
            // node-b: no report at all
            "node-c": nodeReport(table: "other", programmed: .true),     // no entry for this table
            "node-d": nodeReport(generation: 6, programmed: .true),      // an older generation
            "node-e": nodeReport(programmed: .unknown, reason: "Syncing"), // not known yet
            "node-f": nodeReport(programmed: nil),                       // no Programmed condition
            "node-g": nodeReport(generation: 6, programmed: .false, reason: "InterfaceNotFound"), // old failure
        ]
        let status = Aggregation.status(
            of: edgeTable(), nodes: clusterNodes(["node-a", "node-b", "node-c", "node-d", "node-e", "node-f", "node-g"]),
            reports: reports, previous: nil, now: t1)
        let programmed = try #require(status.condition("Programmed"))
        #expect(programmed.reason == "NodesPending")
        #expect(programmed.message == "6 of 7 nodes have not programmed generation 7 yet: node-b, node-c, node-d (and 3 more)")
        #expect(status.failingNodes.isEmpty, "a failure at an older generation is not a current failure")
        #expect(status.nodesReady == "1/7")

        let one = Aggregation.status(
            of: edgeTable(), nodes: clusterNodes(["node-a", "node-b"]), reports: ["node-a": programmedReport],
            previous: nil, now: t1)
        #expect(one.condition("Programmed")?.message == "1 of 2 nodes has not programmed generation 7 yet: node-b")
    }

    @Test func reportsOfNodesThatLeftTheClusterOrAreNotSelectedAreIgnored() {
        let selector = LabelSelector(matchLabels: ["routelet.dev/role": "edge"])
        let edge = ["routelet.dev/role": "edge"]
        let nodes = clusterNodes(["node-a"], labels: edge) + clusterNodes(["node-b"], labels: ["routelet.dev/role": "core"])
        let broken = nodeReport(programmed: .false, reason: "InterfaceNotFound", message: "interface eth1 not found")
        let withStale = Aggregation.status(
            of: edgeTable(selector: selector), nodes: nodes,
            reports: ["node-a": programmedReport, "node-b": broken, "node-gone": broken], previous: nil, now: t1)
        let alone = Aggregation.status(
            of: edgeTable(selector: selector), nodes: clusterNodes(["node-a"], labels: edge),
            reports: ["node-a": programmedReport], previous: nil, now: t1)
        #expect(withStale == alone, "only node-a is selected and present")
        #expect(withStale.condition("Programmed")?.status == .true && withStale.nodesReady == "1/1")
    }

    @Test func feedingTheOutputBackLaterGivesAnEqualStatus() {
        let failing = nodeReport(programmed: .false, reason: "InterfaceDown", message: "interface eth1 is down")
        for reports in [[String: RouteletNodeStatus](), ["node-a": programmedReport], ["node-a": failing]] {
            let first = Aggregation.status(
                of: edgeTable(), nodes: clusterNodes(["node-a", "node-b"]), reports: reports, previous: nil, now: t1)
            let second = Aggregation.status(
                of: edgeTable(), nodes: clusterNodes(["node-a", "node-b"]), reports: reports, previous: first, now: t2)
            #expect(first == second, "nothing changed, so the aggregator must not write")
        }
    }

    @Test func lastTransitionTimeMovesOnlyWhenAConditionsStatusChanges() throws {
        let nodes = clusterNodes(["node-a", "node-b", "node-c"])
        let first = Aggregation.status(
            of: edgeTable(), nodes: nodes, reports: ["node-a": programmedReport], previous: nil, now: t1)
        #expect(first.condition("Programmed")?.message == "2 of 3 nodes have not programmed generation 7 yet: node-b, node-c")

        // Another node programmed, and one failed: message and reason change, the status stays False.
        let failing = nodeReport(programmed: .false, reason: "InterfaceDown", message: "interface eth1 is down")
        let second = Aggregation.status(
            of: edgeTable(), nodes: nodes, reports: ["node-a": programmedReport, "node-b": programmedReport, "node-c": failing],
            previous: first, now: t2)
        let programmed = try #require(second.condition("Programmed"))
        #expect(programmed.reason == "NodeErrors" && programmed.message != first.condition("Programmed")?.message)
        #expect(programmed.lastTransitionTime == t1, "same status: the transition time stays")

        let third = Aggregation.status(
            of: edgeTable(), nodes: nodes,
            reports: ["node-a": programmedReport, "node-b": programmedReport, "node-c": programmedReport],
            previous: second, now: t3)
        #expect(third.condition("Programmed")?.status == .true)
        #expect(third.condition("Programmed")?.lastTransitionTime == t3, "False -> True is a transition")
        #expect(third.condition("Accepted")?.lastTransitionTime == t1, "Accepted never changed")
    }

    @Test func aGenerationBumpMakesEveryNodePending() throws {
        let nodes = clusterNodes(["node-a", "node-b", "node-c"])
        let reports = ["node-a": programmedReport, "node-b": programmedReport, "node-c": programmedReport]
        let before = Aggregation.status(of: edgeTable(generation: 7), nodes: nodes, reports: reports, previous: nil, now: t1)
        #expect(before.condition("Programmed")?.status == .true)

        let after = Aggregation.status(of: edgeTable(generation: 8), nodes: nodes, reports: reports, previous: before, now: t2)
        #expect(after.observedGeneration == 8 && after.conditions.allSatisfy { $0.observedGeneration == 8 })
        #expect(after.nodes == .init(selected: 3, programmed: 0) && after.nodesReady == "0/3")
        let programmed = try #require(after.condition("Programmed"))
        #expect(programmed.reason == "NodesPending" && programmed.lastTransitionTime == t2)
        #expect(programmed.message == "3 of 3 nodes have not programmed generation 8 yet: node-a, node-b, node-c")
        #expect(after.condition("Accepted")?.lastTransitionTime == t1)
    }

    @Test func aTableWithoutAGenerationMatchesReportsWithoutOne() {
        let status = Aggregation.status(
            of: edgeTable(generation: nil), nodes: clusterNodes(["node-a", "node-b"]),
            reports: ["node-a": nodeReport(generation: nil, programmed: .true)], previous: nil, now: t1)
        #expect(status.nodesReady == "1/2")
        #expect(status.condition("Programmed")?.message == "1 of 2 nodes has not programmed the current generation yet: node-b")
    }

    @Test func fiftyNodesGiveCorrectCountsAndAtMostSixteenFailingNodes() throws {
        let selector = LabelSelector(matchLabels: ["routelet.dev/role": "edge"])
        var nodes: [Aggregation.Node] = []
        var reports: [String: RouteletNodeStatus] = [:]
        var failingNames: [String] = []
        for index in 0..<50 {
            let name = "node-" + (index < 10 ? "0\(index)" : "\(index)")
            let kind = index % 10
            nodes.append(.init(name: name, labels: kind == 0 ? [:] : ["routelet.dev/role": "edge"]))
            switch kind {
            case 0: reports[name] = nodeReport(programmed: .false, reason: "InterfaceNotFound") // unselected
            case 1, 2, 3: reports[name] = programmedReport
            case 4, 5, 6, 7:
                reports[name] = nodeReport(programmed: .false, reason: "InterfaceNotFound", message: "\(name): eth9 not found")
                failingNames.append(name)
            case 8: reports[name] = nodeReport(generation: 6, programmed: .true)
            default: break // never reported
            }
        }
        let status = Aggregation.status(
            of: edgeTable(selector: selector), nodes: nodes, reports: reports, previous: nil, now: t1)
        #expect(status.nodes == .init(selected: 45, programmed: 15) && status.nodesReady == "15/45")
        #expect(failingNames.count == 20)
        #expect(status.failingNodes.count == RouteTableStatus.maxFailingNodes)
        #expect(status.failingNodes.map(\.name) == Array(failingNames.sorted().prefix(16)))
        #expect(status.condition("Programmed")?.message == "node-04: node-04: eth9 not found (and 19 more nodes)")

        let shuffled = Aggregation.status(
            of: edgeTable(selector: selector), nodes: nodes.reversed(), reports: reports, previous: nil, now: t1)
        #expect(shuffled == status, "the order of the nodes must not change the status")
    }
}
