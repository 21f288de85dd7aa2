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
    }

    /// The most UTF-8 bytes a message carries; the rest is summed up as "and N more".
    public static let maxMessageBytes = 1024

    /// The status the aggregator should write for `table`, given the nodes that
    /// exist, every node agent's RouteletNode status (by node name), the status
    /// currently on the object (for `lastTransitionTime`), and the time now
    /// (RFC 3339 text). Reports of nodes not in `nodes` are ignored: those nodes
    /// left the cluster.
    public static func status(
        of table: RouteTable, nodes: [Node], reports: [String: RouteletNodeStatus],
        previous: RouteTableStatus?, now: String
    ) -> RouteTableStatus {
        let generation = table.metadata.generation
        let tableName = table.metadata.name ?? ""
        // Every problem, so that "and N more" counts them all; the message is capped below.
        let problems = table.validate(maxErrors: .max)

        var seen = Set<String>()
        let selected = nodes
            .filter { seen.insert($0.name).inserted && table.spec.selects(nodeLabels: $0.labels) }
            .sorted { $0.name < $1.name }

        var programmed = 0
        var pending = 0
        var failing: [RouteTableStatus.FailingNode] = []
        for node in selected {
            let entry = reports[node.name]?.tables.first { $0.name == tableName }
            switch outcome(of: entry, generation: generation) {
            case .programmed: programmed += 1
            case .pending: pending += 1
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
                message: joined(problems.map(\.description), bytes: maxMessageBytes))
        }

        if !problems.isEmpty {
            programmedCondition = Condition(
                type: Vocabulary.programmed, status: .false, reason: Vocabulary.invalid,
                message: "the spec is invalid (see condition Accepted)")
        } else if selected.isEmpty {
            let message = table.spec.nodeSelector == nil
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
        } else if pending > 0 {
            let what = generation.map { "generation \($0)" } ?? "the current generation"
            let verb = pending == 1 ? "has" : "have"
            programmedCondition = Condition(
                type: Vocabulary.programmed, status: .false, reason: Vocabulary.nodesPending,
                message: "\(pending) of \(counted(selected.count, "node")) \(verb) not programmed \(what) yet")
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
        let counts = RouteTableStatus.NodeCounts(selected: selected.count, programmed: programmed)
        return RouteTableStatus(
            observedGeneration: generation, routes: table.spec.routes.count, nodes: counts, conditions: conditions,
            failingNodes: Array(failing.prefix(RouteTableStatus.maxFailingNodes)))
    }

    /// Where one selected node stands with the table's current generation.
    enum Outcome: Hashable {
        case programmed
        case failing(reason: String, message: String)
        /// No report, no entry, an older generation, or `Programmed` not yet known.
        case pending
    }

    static func outcome(of entry: RouteletNodeStatus.Table?, generation: Int64?) -> Outcome {
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
    static func transitionTime(of condition: Condition, previous: RouteTableStatus?, now: String) -> String {
        guard let old = previous?.condition(condition.type), old.status == condition.status,
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
