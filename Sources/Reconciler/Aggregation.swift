import RouteletAPI

/// The aggregate status of a RouteTable across the nodes it selects, as the
/// aggregator writes it: a pure function of the table, the cluster's nodes and
/// every node agent's RouteletNode status.
///
/// The result depends only on its inputs (nodes in name order, conditions in
/// a fixed order, timestamps carried over while a condition holds), so the
/// caller writes the status only when it differs (`!=`) from the current one.
public enum Aggregation {
    /// A node that exists in the cluster (from the Node objects), with its labels.
    public struct Node: Sendable, Hashable {
        public var name: String
        public var labels: [String: String]

        public init(name: String, labels: [String: String] = [:]) {
            self.name = name
            self.labels = labels
        }
    }

    /// Condition types and reasons this aggregation writes.
    public enum Vocabulary {
        public static let accepted = "Accepted"
        public static let programmed = "Programmed"
        public static let invalid = "Invalid"
        public static let noNodesSelected = "NoNodesSelected"
        public static let nodeErrors = "NodeErrors"
        public static let nodesPending = "NodesPending"
        public static let resolvedRefs = "ResolvedRefs"
        public static let backendNotFound = "BackendNotFound"
    }

    /// The most UTF-8 bytes a message carries; the rest is summed up as "and N more".
    public static let maxMessageBytes = 1024

    /// Nodes named in a `NodesPending` message, at most.
    static let pendingNamed = 3

    /// The status the aggregator should write for `table`, given the nodes that
    /// exist, every node agent's RouteletNode status (by node name), the status
    /// currently on the object (for `lastTransitionTime`), and the time now
    /// (RFC 3339 text). Reports of nodes not in `nodes` are ignored: those nodes
    /// left the cluster.
    public static func status(
        of table: RouteTable, nodes: [Node], reports: [String: RouteletNodeStatus],
        previous: RouteTableStatus?, now: String
    ) -> RouteTableStatus {
        let tableName = table.metadata.name ?? ""
        let core = aggregate(
            generation: table.metadata.generation, problems: table.validate(maxErrors: .max).map(\.description),
            hasSelector: table.spec.nodeSelector != nil, nodes: nodes, selects: table.spec.selects(nodeLabels:),
            entry: { reports[$0]?.tables.first { $0.name == tableName }.map { ($0.observedGeneration, $0.conditions) } },
            previous: previous?.conditions ?? [], now: now)
        return RouteTableStatus(
            observedGeneration: table.metadata.generation, routes: table.spec.routes.count, nodes: core.counts,
            conditions: core.conditions, failingNodes: core.failing)
    }

    /// The same for a GatewayRoute, with `ResolvedRefs` (every backend found,
    /// as the nodes report it) and the backends' endpoints (as the first
    /// node at this generation counted them: every node resolves the same
    /// EndpointSlices).
    public static func status(
        of route: GatewayRoute, nodes: [Node], reports: [String: RouteletNodeStatus],
        previous: GatewayRouteStatus?, now: String
    ) -> GatewayRouteStatus {
        let namespace = route.metadata.namespace ?? "default", name = route.metadata.name ?? ""
        let generation = route.metadata.generation
        func entry(_ node: String) -> RouteletNodeStatus.GatewayRoute? {
            reports[node]?.gatewayRoutes.first { $0.namespace == namespace && $0.name == name }
        }
        var core = aggregate(
            generation: generation, problems: route.validate(maxErrors: .max).map(\.description),
            hasSelector: route.spec.nodeSelector != nil, nodes: nodes, selects: route.spec.selects(nodeLabels:),
            entry: { entry($0).map { ($0.observedGeneration, $0.conditions) } },
            previous: previous?.conditions ?? [], now: now)
        let current = core.selected.compactMap(entry).filter { $0.observedGeneration == generation }
        let unresolved = current.compactMap { $0.conditions.first { $0.type == Vocabulary.programmed } }
            .first { $0.reason == Vocabulary.backendNotFound }
        var resolved = unresolved.map {
            Condition(type: Vocabulary.resolvedRefs, status: .false, reason: Vocabulary.backendNotFound, message: $0.message ?? "")
        } ?? Condition(type: Vocabulary.resolvedRefs, status: .true, reason: Vocabulary.resolvedRefs, message: "every backend was found")
        resolved.observedGeneration = generation
        resolved.lastTransitionTime = transitionTime(of: resolved, previous: previous?.conditions ?? [], now: now)
        core.conditions.insert(resolved, at: 1)
        return GatewayRouteStatus(
            observedGeneration: generation, listener: route.spec.listener.displayText, rules: route.spec.rules.count,
            backends: current.first?.backends ?? BackendCounts(), nodes: core.counts, conditions: core.conditions,
            failingNodes: core.failing)
    }

    /// What RouteTables and GatewayRoutes aggregate alike: which nodes are
    /// selected, how each stands with the current generation, `Accepted`
    /// and `Programmed`.
    struct Core {
        var selected: [String]
        var counts: NodeCounts
        var conditions: [Condition]
        var failing: [FailingNode]
    }

    static func aggregate(
        generation: Int64?, problems: [String], hasSelector: Bool, nodes: [Node], selects: ([String: String]) -> Bool,
        entry: (String) -> (observedGeneration: Int64?, conditions: [Condition])?, previous: [Condition], now: String
    ) -> Core {
        var seen = Set<String>()
        let selected = nodes
            .filter { seen.insert($0.name).inserted && selects($0.labels) }
            .sorted { $0.name < $1.name }

        var programmed = 0
        var pending: [String] = []
        var failing: [FailingNode] = []
        for node in selected {
            switch outcome(of: entry(node.name), generation: generation) {
            case .programmed: programmed += 1
            case .pending: pending.append(node.name)
            case .failing(let reason, let message):
                failing.append(.init(name: node.name, reason: reason, message: capped(message, bytes: maxMessageBytes)))
            }
        }

        let accepted: Condition
        let programmedCondition: Condition
        if problems.isEmpty {
            accepted = Condition(
                type: Vocabulary.accepted, status: .true, reason: Vocabulary.accepted, message: "spec is valid")
        } else {
            accepted = Condition(
                type: Vocabulary.accepted, status: .false, reason: Vocabulary.invalid,
                message: joined(problems, bytes: maxMessageBytes))
        }

        if !problems.isEmpty {
            programmedCondition = Condition(
                type: Vocabulary.programmed, status: .false, reason: Vocabulary.invalid,
                message: "the spec is invalid (see condition Accepted)")
        } else if selected.isEmpty {
            let message = !hasSelector
                ? "the cluster has no nodes"
                : "no node matches spec.nodeSelector (\(counted(seen.count, "node")) in the cluster)"
            programmedCondition = Condition(
                type: Vocabulary.programmed, status: .false, reason: Vocabulary.noNodesSelected, message: message)
        } else if let first = failing.first {
            var message = "\(first.name): \(first.message.isEmpty ? first.reason : first.message)"
            if failing.count > 1 {
                message += " (and \(counted(failing.count - 1, "more node")))"
            }
            programmedCondition = Condition(
                type: Vocabulary.programmed, status: .false, reason: Vocabulary.nodeErrors,
                message: capped(message, bytes: maxMessageBytes))
        } else if !pending.isEmpty {
            // Named, the first few: a node whose agent is gone shows up here.
            let what = generation.map { "generation \($0)" } ?? "the current generation"
            let verb = pending.count == 1 ? "has" : "have"
            var names = pending.prefix(Self.pendingNamed).joined(separator: ", ")
            if pending.count > Self.pendingNamed { names += " (and \(pending.count - Self.pendingNamed) more)" }
            programmedCondition = Condition(
                type: Vocabulary.programmed, status: .false, reason: Vocabulary.nodesPending,
                message: capped("\(pending.count) of \(counted(selected.count, "node")) \(verb) not programmed \(what) yet: \(names)",
                                bytes: maxMessageBytes))
        } else {
            programmedCondition = Condition(
                type: Vocabulary.programmed, status: .true, reason: Vocabulary.programmed,
                message: "programmed on \(counted(programmed, "node"))")
        }

        let conditions = [accepted, programmedCondition].map { condition in
            var condition = condition
            condition.observedGeneration = generation
            condition.lastTransitionTime = transitionTime(of: condition, previous: previous, now: now)
            return condition
        }
        return Core(selected: selected.map(\.name), counts: NodeCounts(selected: selected.count, programmed: programmed),
                    conditions: conditions, failing: Array(failing.prefix(FailingNode.maxListed)))
    }

    /// Where one selected node stands with the table's current generation.
    enum Outcome: Hashable {
        case programmed
        case failing(reason: String, message: String)
        /// No report, no entry, an older generation, or `Programmed` not yet known.
        case pending
    }

    static func outcome(of entry: (observedGeneration: Int64?, conditions: [Condition])?, generation: Int64?) -> Outcome {
        guard let entry, entry.observedGeneration == generation,
              let condition = entry.conditions.first(where: { $0.type == Vocabulary.programmed })
        else { return .pending }
        switch condition.status {
        case .true: return .programmed
        case .false: return .failing(reason: condition.reason ?? "NotProgrammed", message: condition.message ?? "")
        default: return .pending
        }
    }

    /// The previous transition time while the condition keeps its status, so
    /// that a new message alone does not look like a change of state.
    static func transitionTime(of condition: Condition, previous: [Condition], now: String) -> String {
        guard let old = previous.first(where: { $0.type == condition.type }), old.status == condition.status,
              let time = old.lastTransitionTime
        else { return now }
        return time
    }

    /// `items` joined with "; ", as many as fit in `bytes`, then "; and N more".
    static func joined(_ items: [String], bytes: Int) -> String {
        var text = ""
        var taken = 0
        for item in items {
            let candidate = text.isEmpty ? item : text + "; " + item
            let left = items.count - taken - 1
            let suffix = left > 0 ? "; and \(left) more".utf8.count : 0
            guard candidate.utf8.count + suffix <= bytes else { break }
            text = candidate
            taken += 1
        }
        let left = items.count - taken
        guard left > 0 else { return text }
        if taken == 0 {
            // Even the first item is too long: show the start of it.
            let suffix = left > 1 ? "; and \(left - 1) more" : ""
            return capped(items[0], bytes: bytes - suffix.utf8.count) + suffix
        }
        return text + "; and \(left) more"
    }

    /// `text`, cut at a character boundary to at most `bytes` UTF-8 bytes, ending in "…" when cut.
    static func capped(_ text: String, bytes: Int) -> String {
        guard text.utf8.count > bytes else { return text }
        let ellipsis = "…"
        var result = ""
        var used = 0
        for character in text {
            let size = character.utf8.count
            guard used + size + ellipsis.utf8.count <= bytes else { break }
            result.append(character)
            used += size
        }
        return result + ellipsis
    }

    /// "1 node", "3 nodes".
    static func counted(_ count: Int, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }
}
