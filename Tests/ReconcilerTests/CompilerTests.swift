import DataplaneModel
import NetAddress
import Reconciler
import Testing

@Suite struct CompilerTests {
    let edge = """
        apiVersion: routelet.dev/v1alpha1
        kind: RouteTable
        metadata: {name: edge}
        spec:
          interfaces: [eth0]
          routes:
          - {destination: 10.0.0.0/8, gateway: 192.0.2.1, interface: eth1, metric: 10}
          - {destination: 10.0.0.0/8, gateway: 192.0.2.2, interface: eth2, metric: 20}
          - {destination: 10.1.0.0/16, gateway: 192.0.2.1, interface: eth1, metric: 5}
          - {destination: 10.1.0.0/16, gateway: 192.0.2.3, interface: eth3, metric: 5}
          - {destination: 203.0.113.0/24, type: Blackhole}
          - {destination: 10.9.0.0/24, type: Local}
          - {destination: "2001:db8::/32", interface: eth1}
        """

    @Test func lowestMetricWinsAndEqualMetricsMergeIntoOneGroup() throws {
        let result = Compiler.compile(tables: [try table(edge)], node: node())
        #expect(result.action("edge", "10.0.0.0/8") == .forward([NextHop(ifindex: 11, gateway: address("192.0.2.1"))]))
        #expect(result.action("edge", "10.1.0.0/16") == .forward([
            NextHop(ifindex: 11, gateway: address("192.0.2.1")), NextHop(ifindex: 13, gateway: address("192.0.2.3")),
        ]))
        #expect(result.action("edge", "203.0.113.0/24") == .blackhole)
        #expect(result.action("edge", "10.9.0.0/24") == .local)
        #expect(result.action("edge", "2001:db8::/32") == .forward([NextHop(ifindex: 11, gateway: nil)]))
        let verdict = try #require(result.verdict("edge"))
        #expect(verdict.isProgrammed)
        #expect(verdict.interfaces == ["eth0"])
        #expect(verdict.installedPrefixes == 5 && verdict.downPrefixes == 0 && verdict.desiredRoutes == 7)
        #expect(result.desired.bindings == [10: verdict.tableID])
        #expect(result.desired.localAddresses == [address("192.0.2.10")])
    }

    @Test func aDownOrMissingEgressFailsOverToTheNextMetricAndIsReported() throws {
        let down = Compiler.compile(tables: [try table(edge)], node: node(down: ["eth1"]))
        #expect(down.action("edge", "10.0.0.0/8") == .forward([NextHop(ifindex: 12, gateway: address("192.0.2.2"))]))
        // The /16 ECMP pair at metric 5: eth1 down leaves eth3 alone.
        #expect(down.action("edge", "10.1.0.0/16") == .forward([NextHop(ifindex: 13, gateway: address("192.0.2.3"))]))
        // No usable route: the prefix is left out and reported.
        #expect(down.action("edge", "2001:db8::/32") == nil)
        let verdict = try #require(down.verdict("edge"))
        #expect(verdict.downPrefixes == 1 && verdict.installedPrefixes == 4)
        #expect(verdict.problems == [Problem(.interfaceDown, "2001:db8::/32: interface eth1 is down")])
        // The /16 serves without its route over eth1; the /8's eth1 route lost to metric 20 altogether.
        #expect(verdict.degraded == [Problem(.interfaceDown, "10.1.0.0/16: interface eth1 is down")], "\(verdict.degraded)")

        let missing = Compiler.compile(tables: [try table(edge)], node: node(missing: ["eth1", "eth2"]))
        #expect(missing.action("edge", "10.0.0.0/8") == nil)
        #expect(missing.verdict("edge")?.problems.map(\.reason) == [.interfaceNotFound, .interfaceNotFound])
        #expect(missing.verdict("edge")?.problems.first?.message == "10.0.0.0/8: interface eth1 not found")
    }

    @Test func aDeadNextHopLeavesItsGroupAndOnlyTheLastOneTakesThePrefixToTheNextMetric() throws {
        let ecmp = try table("""
            apiVersion: routelet.dev/v1alpha1
            kind: RouteTable
            metadata: {name: e}
            spec:
              interfaces: [eth0]
              routes:
              - destination: 10.0.0.0/8
                nexthops: [{gateway: 192.0.2.1, interface: eth1}, {gateway: 192.0.2.2, interface: eth2, weight: 2}, {gateway: 192.0.2.3, interface: eth3}]
              - {destination: 10.0.0.0/8, gateway: 192.0.2.9, interface: eth9, metric: 100}
            """)
        let all = Compiler.compile(tables: [ecmp], node: node(extra: ["eth9"]))
        #expect(all.action("e", "10.0.0.0/8").map(Self.hopCount) == 3)
        #expect(all.verdict("e")?.degraded == [])

        // eth2 down, eth3 gone: eth1 serves alone, the table stays programmed and says so.
        let one = Compiler.compile(tables: [ecmp], node: node(down: ["eth2"], missing: ["eth3"], extra: ["eth9"]))
        #expect(one.action("e", "10.0.0.0/8") == .forward([NextHop(ifindex: 11, gateway: address("192.0.2.1"))]))
        let verdict = try #require(one.verdict("e"))
        #expect(verdict.isProgrammed && verdict.installedPrefixes == 1 && verdict.downPrefixes == 0)
        #expect(verdict.degraded == [Problem(.interfaceDown, "10.0.0.0/8: interface eth2 is down"),
                                     Problem(.interfaceNotFound, "10.0.0.0/8: interface eth3 not found")], "\(verdict.degraded)")

        // The last one down too: the backup metric, and nothing is degraded.
        let none = Compiler.compile(tables: [ecmp], node: node(down: ["eth1", "eth2"], missing: ["eth3"], extra: ["eth9"]))
        #expect(none.action("e", "10.0.0.0/8") == .forward([NextHop(ifindex: 14, gateway: address("192.0.2.9"))]))
        #expect(none.verdict("e")?.degraded == [] && none.verdict("e")?.isProgrammed == true)
    }

    static func hopCount(_ action: DesiredAction) -> Int {
        if case .forward(let hops) = action { return hops.count }
        return 0
    }

    @Test func equalMetricCandidatesMergeWithTheirWeights() throws {
        let wcmp = try table("""
            apiVersion: routelet.dev/v1alpha1
            kind: RouteTable
            metadata: {name: w}
            spec:
              interfaces: [eth0]
              routes:
              - destination: 10.0.0.0/8
                nexthops: [{gateway: 192.0.2.1, interface: eth1, weight: 3}, {gateway: 192.0.2.2, interface: eth2}]
              - {destination: 10.0.0.0/8, gateway: 192.0.2.3, interface: eth3, metric: 0}
              - destination: 10.0.0.0/8
                metric: 0
                nexthops: [{gateway: 192.0.2.5, interface: eth2, weight: 2}, {gateway: 192.0.2.4, interface: eth3}]
            """)
        let result = Compiler.compile(tables: [wcmp], node: node())
        #expect(result.action("w", "10.0.0.0/8") == .forward([
            NextHop(ifindex: 11, gateway: address("192.0.2.1"), weight: 3), NextHop(ifindex: 12, gateway: address("192.0.2.2"), weight: 1),
            NextHop(ifindex: 12, gateway: address("192.0.2.5"), weight: 2), NextHop(ifindex: 13, gateway: address("192.0.2.3"), weight: 1),
            NextHop(ifindex: 13, gateway: address("192.0.2.4"), weight: 1),
        ]))
    }

    @Test func theOlderTableKeepsAContestedInterface() throws {
        func claim(_ name: String, _ interfaces: String) -> String {
            """
            apiVersion: routelet.dev/v1alpha1
            kind: RouteTable
            metadata: {name: \(name)}
            spec:
              interfaces: \(interfaces)
              routes: [{destination: 10.0.0.0/8, type: Blackhole}]
            """
        }
        let older = try table(claim("zeta", "[eth0, eth1]"), created: "2026-01-01T00:00:00Z")
        let newer = try table(claim("alpha", "[\"eth*\"]"), created: "2026-02-01T00:00:00Z")
        let result = Compiler.compile(tables: [newer, older], node: node())
        let zeta = try #require(result.verdict("zeta")), alpha = try #require(result.verdict("alpha"))
        #expect(zeta.interfaces == ["eth0", "eth1"] && zeta.isProgrammed)
        #expect(alpha.interfaces == ["eth2", "eth3"])
        #expect(alpha.problems.map(\.reason) == [.interfaceConflict, .interfaceConflict])
        #expect(alpha.problems.first?.message == "interface eth0 is already bound to RouteTable zeta (older)")
        #expect(result.desired.bindings[10] == zeta.tableID && result.desired.bindings[12] == alpha.tableID)
        #expect(zeta.tableID != alpha.tableID)

        // Same age: the name decides.
        let tie = Compiler.compile(tables: [try table(claim("b", "[eth0]")), try table(claim("a", "[eth0]"))], node: node())
        #expect(tie.verdict("a")?.interfaces == ["eth0"])
        #expect(tie.verdict("b")?.problems.map(\.reason) == [.interfaceConflict])
    }

    @Test func nodeSelectorsChooseTheNodesAndGlobsTheInterfaces() throws {
        let selective = try table("""
            apiVersion: routelet.dev/v1alpha1
            kind: RouteTable
            metadata: {name: s}
            spec:
              nodeSelector:
                matchLabels: {routelet.dev/role: edge}
                matchExpressions: [{key: zone, operator: In, values: [a, b]}]
              interfaces: ["veth*", "eth[12]"]
              routes: [{destination: 10.0.0.0/8, type: Blackhole}]
            """)
        let edgeNode = node(labels: ["routelet.dev/role": "edge", "zone": "a"], extra: ["veth9", "vethx"])
        #expect(Compiler.compile(tables: [selective], node: edgeNode).verdict("s")?.interfaces == ["eth1", "eth2", "veth9", "vethx"])
        #expect(Compiler.compile(tables: [selective], node: node(labels: ["routelet.dev/role": "edge", "zone": "c"])).verdicts.isEmpty)
        #expect(Compiler.compile(tables: [selective], node: node()).verdicts.isEmpty)
    }

    @Test func aTableWithNoInterfaceOnThisNodeInstallsNothingAndSaysWhy() throws {
        let result = Compiler.compile(tables: [try table(edge)], node: node(missing: ["eth0"]))
        #expect(result.desired.routes.isEmpty && result.desired.bindings.isEmpty)
        #expect(result.verdict("edge")?.problems == [Problem(.interfaceNotFound, "interface eth0 not found")])
    }

    @Test func tableIDsAreStableAcrossRunsAndInputOrder() throws {
        let a = try table(edge)
        var b = a
        b.metadata.name = "other"
        let first = Compiler.compile(tables: [a, b], node: node())
        let second = Compiler.compile(tables: [b, a], node: node())
        #expect(first.verdict("edge")?.tableID == second.verdict("edge")?.tableID)
        #expect(first == second)
    }
}
