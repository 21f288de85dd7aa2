import Dataplane
import Foundation
import Reconciler
import RouteletAPI

/// Turns compile's verdicts into the RouteletNode status of api.md. Nothing
/// in it moves on every pass (no timestamps but `restoredAt`, which is set
/// once at start), so an idle node's status stays equal and is not written.
enum NodeStatusBuilder {
    /// Condition messages are kept short enough for `kubectl describe`.
    static let maxMessageBytes = 1024

    static func status(verdicts: [TableVerdict], agentVersion: String, restoredAt: String?, failure: String?) -> RouteletNodeStatus {
        let tables = verdicts.sorted { $0.name < $1.name }.map { verdict in
            RouteletNodeStatus.Table(
                name: verdict.name, observedGeneration: verdict.generation, interfaces: verdict.interfaces,
                routes: .init(desired: verdict.desiredRoutes, installed: verdict.installedPrefixes, down: verdict.downPrefixes),
                conditions: [programmedCondition(verdict)])
        }
        let attached = Set(verdicts.flatMap(\.interfaces)).sorted()
        return RouteletNodeStatus(
            agentVersion: agentVersion,
            dataplane: .init(abiVersion: UInt32(DataplaneABI.version), attachedInterfaces: attached),
            restoredAt: restoredAt, tables: tables,
            conditions: [readyCondition(tables: tables, failure: failure)])
    }

    static func programmedCondition(_ verdict: TableVerdict) -> Condition {
        guard let first = verdict.problems.first else {
            return Condition(type: "Programmed", status: .true, reason: "Programmed",
                             message: "\(verdict.installedPrefixes) prefixes installed on \(verdict.interfaces.joined(separator: ", "))",
                             observedGeneration: verdict.generation)
        }
        return Condition(type: "Programmed", status: .false, reason: first.reason.rawValue,
                         message: truncated(verdict.problems.map(\.message).joined(separator: "; ")),
                         observedGeneration: verdict.generation)
    }

    /// Ready: every table programmed and the last pass succeeded.
    static func readyCondition(tables: [RouteletNodeStatus.Table], failure: String?) -> Condition {
        if let failure {
            return Condition(type: "Ready", status: .false, reason: "ReconcileFailed", message: truncated(failure))
        }
        let failing = tables.filter { $0.conditions.first { $0.type == "Programmed" }?.status != .true }
        guard !failing.isEmpty else {
            return Condition(type: "Ready", status: .true, reason: "Programmed",
                             message: tables.isEmpty ? "no RouteTable selects this node" : "\(tables.count) tables programmed")
        }
        let names = failing.map { table in "\(table.name) (\(table.conditions.first?.reason ?? "Unknown"))" }
        return Condition(type: "Ready", status: .false, reason: "TablesNotProgrammed",
                         message: truncated("\(failing.count) of \(tables.count) tables not programmed: \(names.joined(separator: ", "))"))
    }

    static func truncated(_ text: String) -> String {
        guard text.utf8.count > maxMessageBytes else { return text }
        return String(decoding: text.utf8.prefix(maxMessageBytes - 3), as: UTF8.self) + "..."
    }
}

extension [Condition] {
    /// These conditions with `lastTransitionTime` carried over from
    /// `previous` where a condition of the same type had the same status,
    /// and `now` where the status changed or the condition is new.
    func stamped(from previous: [Condition], now: String) -> [Condition] {
        map { condition in
            var condition = condition
            if let before = previous.first(where: { $0.type == condition.type }), before.status == condition.status {
                condition.lastTransitionTime = before.lastTransitionTime ?? now
            } else {
                condition.lastTransitionTime = now
            }
            return condition
        }
    }
}

extension RouteletNodeStatus {
    /// This status with transition times carried over from `previous`
    /// (node conditions and each table's conditions).
    func stamped(from previous: RouteletNodeStatus?, now: String) -> RouteletNodeStatus {
        var status = self
        status.conditions = conditions.stamped(from: previous?.conditions ?? [], now: now)
        status.tables = tables.map { table in
            var table = table
            let before = previous?.tables.first { $0.name == table.name }?.conditions ?? []
            table.conditions = table.conditions.stamped(from: before, now: now)
            return table
        }
        return status
    }
}
