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

    static func status(verdicts: [TableVerdict], gatewayVerdicts: [GatewayVerdict] = [], agentVersion: String, restoredAt: String?,
                       failure: String?) -> RouteletNodeStatus {
        let tables = verdicts.sorted { $0.name < $1.name }.map { verdict in
            RouteletNodeStatus.Table(
                name: verdict.name, observedGeneration: verdict.generation, interfaces: verdict.interfaces,
                routes: .init(desired: verdict.desiredRoutes, installed: verdict.installedPrefixes, down: verdict.downPrefixes),
                conditions: [programmedCondition(verdict)])
        }
        let gatewayRoutes = gatewayVerdicts.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }.map { verdict in
            RouteletNodeStatus.GatewayRoute(
                namespace: verdict.namespace, name: verdict.name, observedGeneration: verdict.generation,
                backends: .init(ready: verdict.readyEndpoints, total: verdict.totalEndpoints),
                conditions: [programmedCondition(verdict)])
        }
        let attached = Set(verdicts.flatMap(\.interfaces) + gatewayVerdicts.flatMap(\.interfaces)).sorted()
        return RouteletNodeStatus(
            agentVersion: agentVersion,
            dataplane: .init(abiVersion: UInt32(DataplaneABI.version), attachedInterfaces: attached),
            restoredAt: restoredAt, tables: tables, gatewayRoutes: gatewayRoutes,
            conditions: [readyCondition(tables: tables, gatewayRoutes: gatewayRoutes, failure: failure)])
    }

    static func programmedCondition(_ verdict: TableVerdict) -> Condition {
        var success = "\(verdict.installedPrefixes) prefixes installed on \(verdict.interfaces.joined(separator: ", "))"
        if !verdict.degraded.isEmpty { success += "; next hops left out: " + verdict.degraded.map(\.message).joined(separator: "; ") }
        return programmed(problems: verdict.problems, generation: verdict.generation, success: truncated(success))
    }

    static func programmedCondition(_ verdict: GatewayVerdict) -> Condition {
        programmed(problems: verdict.problems, generation: verdict.generation,
                   success: "\(verdict.listener) on \(verdict.interfaces.joined(separator: ", ")), \(verdict.readyEndpoints) of \(verdict.totalEndpoints) endpoints ready")
    }

    static func programmed(problems: [Problem], generation: Int64?, success: String) -> Condition {
        guard let first = problems.first else {
            return Condition(type: "Programmed", status: .true, reason: "Programmed", message: success, observedGeneration: generation)
        }
        return Condition(type: "Programmed", status: .false, reason: first.reason.rawValue,
                         message: truncated(problems.map(\.message).joined(separator: "; ")), observedGeneration: generation)
    }

    /// Ready: every table and gateway route programmed and the last pass succeeded.
    static func readyCondition(tables: [RouteletNodeStatus.Table], gatewayRoutes: [RouteletNodeStatus.GatewayRoute] = [],
                               failure: String?) -> Condition {
        if let failure {
            return Condition(type: "Ready", status: .false, reason: "ReconcileFailed", message: truncated(failure))
        }
        func failingReason(_ conditions: [Condition]) -> String? {
            let programmed = conditions.first { $0.type == "Programmed" }
            return programmed?.status == .true ? nil : programmed?.reason ?? "Unknown"
        }
        let failingTables = tables.compactMap { table in failingReason(table.conditions).map { "\(table.name) (\($0))" } }
        let failingRoutes = gatewayRoutes.compactMap { route in
            failingReason(route.conditions).map { "\(route.namespace)/\(route.name) (\($0))" }
        }
        let failing = failingTables + failingRoutes
        let total = tables.count + gatewayRoutes.count
        guard !failing.isEmpty else {
            let message = total == 0 ? "no RouteTable or GatewayRoute selects this node"
                : "\(tables.count) tables and \(gatewayRoutes.count) gateway routes programmed"
            return Condition(type: "Ready", status: .true, reason: "Programmed", message: message)
        }
        let reason = failingRoutes.isEmpty ? "TablesNotProgrammed" : "NotProgrammed"
        return Condition(type: "Ready", status: .false, reason: reason,
                         message: truncated("\(failing.count) of \(total) not programmed: \(failing.joined(separator: ", "))"))
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
        status.gatewayRoutes = gatewayRoutes.map { route in
            var route = route
            let before = previous?.gatewayRoutes.first { $0.namespace == route.namespace && $0.name == route.name }?.conditions ?? []
            route.conditions = route.conditions.stamped(from: before, now: now)
            return route
        }
        return status
    }
}
