import DataplaneModel
import NetAddress
import RouteletAPI

/// compile: RouteTables and node facts in, the desired data plane and a
/// verdict per table out. Pure: no I/O, the same input gives the same output.
public enum Compiler {
    public static func compile(tables: [RouteTable], node: NodeFacts) -> Compilation {
        let selected = tables
            .filter { $0.metadata.name != nil && $0.spec.selects(nodeLabels: node.labels) }
            .sorted(by: isOlder)
        var desired = DesiredDataplane()
        desired.localAddresses = node.addresses
        var verdicts: [TableVerdict] = []
        var usedTableIDs: Set<UInt32> = []
        var claimedBy: [String: String] = [:]   // interface -> table name
        let links = node.links.values.sorted { $0.name < $1.name }

        for table in selected {
            let name = table.metadata.name!
            let tableID = allocate(stableHash(name), avoiding: &usedTableIDs)
            var verdict = TableVerdict(name: name, generation: table.metadata.generation, tableID: tableID, interfaces: [],
                                       desiredRoutes: table.spec.routes.count, installedPrefixes: 0, downPrefixes: 0, problems: [])

            // Interfaces: every link matching a pattern, unless an older table has it.
            let patterns = table.spec.interfacePatterns
            for link in links where patterns.contains(where: { $0.matches(link.name) }) {
                if let owner = claimedBy[link.name] {
                    verdict.problems.append(Problem(.interfaceConflict, "interface \(link.name) is already bound to RouteTable \(owner) (older)"))
                } else {
                    claimedBy[link.name] = name
                    verdict.interfaces.append(link.name)
                    desired.bindings[link.ifindex] = tableID
                }
            }
            for pattern in patterns where !pattern.isGlob && node.links[pattern.description] == nil {
                verdict.problems.append(Problem(.interfaceNotFound, "interface \(pattern) not found"))
            }
            if verdict.interfaces.isEmpty {
                if verdict.problems.isEmpty {
                    verdict.problems.append(Problem(.noInterfaces, "no interface on this node matches \(table.spec.interfaces)"))
                }
                verdicts.append(verdict)
                continue
            }

            // Routes: per prefix, the lowest usable metric wins.
            var order: [IPPrefix] = []
            var candidates: [IPPrefix: [RouteletAPI.Route]] = [:]
            for route in table.spec.routes {
                guard let prefix = route.destinationPrefix else { continue }
                if candidates[prefix] == nil { order.append(prefix) }
                candidates[prefix, default: []].append(route)
            }
            var problems: [Problem] = [], degraded: [Problem] = []
            for prefix in order {
                let key = RouteKey(table: tableID, prefix: prefix)
                switch select(candidates[prefix]!, node: node) {
                case .installed(let action, let problem, let lost):
                    desired.routes[key] = action
                    desired.owners[key] = name
                    verdict.installedPrefixes += 1
                    if let problem { problems.append(Problem(problem.reason, "\(prefix): \(problem.message)")) }
                    degraded += lost.map { Problem($0.reason, "\(prefix): \($0.message)") }
                case .down(let problem):
                    verdict.downPrefixes += 1
                    problems.append(Problem(problem.reason, "\(prefix): \(problem.message)"))
                }
            }
            verdict.problems += summarize(problems)
            verdict.degraded = summarize(degraded)
            verdicts.append(verdict)
        }
        return Compilation(desired: desired, verdicts: verdicts)
    }

    /// Older first: creationTimestamp (RFC 3339 sorts as text), then name.
    static func isOlder(_ a: RouteTable, _ b: RouteTable) -> Bool {
        (a.metadata.creationTimestamp ?? "", a.metadata.name ?? "") < (b.metadata.creationTimestamp ?? "", b.metadata.name ?? "")
    }

    enum Selection {
        /// Installed; `problem`: what of the spec could not be installed;
        /// `lost`: the next hops of the winning metric that are left out
        /// (their interface missing or down). Messages don't name the prefix.
        case installed(DesiredAction, problem: Problem?, lost: [Problem])
        case down(Problem)
    }

    /// The action for one prefix from its candidate routes: the lowest
    /// metric with a usable next hop, its usable next hops merged.
    static func select(_ routes: [RouteletAPI.Route], node: NodeFacts) -> Selection {
        var firstFailure: Problem?
        var usable: [(route: RouteletAPI.Route, hops: [DataplaneModel.NextHop])] = []
        var unusable: [UInt32: [Problem]] = [:]   // by metric
        var winningMetric: UInt32?
        for route in routes.sorted(by: { $0.effectiveMetric < $1.effectiveMetric }) {   // stable: spec order within a metric
            if let winningMetric, route.effectiveMetric > winningMetric { break }
            let egress = egress(of: route, node: node)
            unusable[route.effectiveMetric, default: []] += egress.unusable
            if let hops = egress.hops {
                usable.append((route, hops))
                winningMetric = route.effectiveMetric
            } else {
                firstFailure = firstFailure ?? egress.unusable.first
            }
        }
        guard let first = usable.first, let winningMetric else {
            return .down(firstFailure ?? Problem(.interfaceNotFound, "no usable route"))
        }
        // The next hops of the winning metric that are left out, of any of
        // its routes (a metric that lost altogether is the backup's business).
        let lost = unusable[winningMetric] ?? []
        if first.route.effectiveType == .blackhole { return .installed(.blackhole, problem: nil, lost: []) }
        if first.route.effectiveType == .local { return .installed(.local, problem: nil, lost: []) }

        // Equal metrics merge into one group; the same next hop adds up its weights.
        var weights: [DataplaneModel.NextHop: UInt32] = [:]
        for candidate in usable where candidate.route.effectiveType == .unicast {
            for hop in candidate.hops {
                let key = DataplaneModel.NextHop(ifindex: hop.ifindex, gateway: hop.gateway, weight: 0)
                weights[key, default: 0] += hop.weight
            }
        }
        var hops = weights.map { DataplaneModel.NextHop(ifindex: $0.key.ifindex, gateway: $0.key.gateway, weight: $0.value) }.sorted()
        var problem: Problem?
        if hops.count > maxNextHops {
            problem = Problem(.tooManyNextHops, "\(hops.count) next hops at metric \(first.route.effectiveMetric); the first \(maxNextHops) are used")
            hops = Array(hops.prefix(maxNextHops))
        }
        return .installed(.forward(hops), problem: problem, lost: lost)
    }

    static let maxNextHops = 16

    /// The usable next hops of a route (nil when it has none; [] for a
    /// route of another type), and why each of the others can't be used
    /// here: a next hop whose interface is missing or down leaves the
    /// route, and the others keep serving.
    static func egress(of route: RouteletAPI.Route, node: NodeFacts) -> (hops: [DataplaneModel.NextHop]?, unusable: [Problem]) {
        guard route.effectiveType == .unicast else { return ([], []) }
        let specified: [(gateway: IPAddress?, interface: String, weight: Int)] =
            route.nexthops.map { $0.map { ($0.gatewayAddress, $0.interface, $0.effectiveWeight) } }
            ?? [(route.gatewayAddress, route.interface ?? "", 1)]
        var hops: [DataplaneModel.NextHop] = []
        var unusable: [Problem] = []
        for hop in specified {
            guard let link = node.links[hop.interface] else {
                unusable.append(Problem(.interfaceNotFound, "interface \(hop.interface) not found"))
                continue
            }
            guard link.isUp else {
                unusable.append(Problem(.interfaceDown, "interface \(hop.interface) is down"))
                continue
            }
            hops.append(DataplaneModel.NextHop(ifindex: link.ifindex, gateway: hop.gateway, weight: UInt32(max(1, hop.weight))))
        }
        return (hops.isEmpty ? nil : hops, unusable)
    }

    /// At most a few problems per reason, so a table with 10,000 down
    /// prefixes still has a readable status.
    static func summarize(_ problems: [Problem], perReason: Int = 3) -> [Problem] {
        var byReason: [Problem.Reason: [Problem]] = [:]
        var order: [Problem.Reason] = []
        for problem in problems {
            if byReason[problem.reason] == nil { order.append(problem.reason) }
            byReason[problem.reason, default: []].append(problem)
        }
        return order.flatMap { reason -> [Problem] in
            let all = byReason[reason]!
            guard all.count > perReason else { return all }
            return Array(all.prefix(perReason)) + [Problem(reason, "… and \(all.count - perReason) more")]
        }
    }

    /// FNV-1a, 32 bits: a stable id from a name.
    static func stableHash(_ text: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return hash
    }

    /// `preferred`, or the next free id after it (never 0), recorded as used.
    static func allocate(_ preferred: UInt32, avoiding used: inout Set<UInt32>) -> UInt32 {
        var id = preferred == 0 ? 1 : preferred
        while used.contains(id) { id = id &+ 1 == 0 ? 1 : id &+ 1 }
        used.insert(id)
        return id
    }
}
