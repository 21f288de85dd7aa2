import Foundation
import JSONValue
import KubeClient
import Logging
import RouteletAPI
import Synchronization

/// Where the loop hands each changed node status. `publish` must not block
/// the loop: writing happens in `run`, which the agent runs beside it.
public protocol NodeStatusPublisher: Sendable {
    /// `uids`: the uid of each object the status names (``EventBuilder/Object/key``),
    /// so that Events name them the way `kubectl describe` looks them up.
    func publish(_ status: RouteletNodeStatus, uids: [String: String])
    func run() async throws
}

/// Writes this node's RouteletNode: creates it when missing, then writes
/// its status through `/status` with optimistic concurrency, only when it
/// differs from what the object holds. A failed write is retried with
/// backoff; a newer status replaces a pending one (only the latest
/// matters). When a table's Programmed condition changes, an Event on the
/// RouteTable says so for `kubectl describe`.
public final class RouteletNodeWriter: NodeStatusPublisher {
    let client: KubeClient
    let nodeName: String
    /// Events about cluster-scoped objects go here, as kubelet's do.
    let eventNamespace: String
    let logger: Logger
    private let latest = Mutex<RouteletNodeStatus?>(nil)
    private let uids = Mutex<[String: String]>([:])
    private let signal: AsyncStream<Void>
    private let signalContinuation: AsyncStream<Void>.Continuation

    public init(client: KubeClient, nodeName: String, eventNamespace: String = "default", logger: Logger) {
        self.client = client
        self.nodeName = nodeName
        self.eventNamespace = eventNamespace
        self.logger = logger
        (signal, signalContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func publish(_ status: RouteletNodeStatus, uids: [String: String]) {
        self.uids.withLock { $0 = uids }
        latest.withLock { $0 = status }
        signalContinuation.yield()
    }

    public func run() async throws {
        var backoff = Backoff(initial: .milliseconds(800), maximum: .seconds(30))
        var written: RouteletNodeStatus?
        var exists = false
        for await _ in signal {
            while let status = latest.withLock({ $0 }), status != written {
                do {
                    if !exists {
                        try await ensureObject()
                        exists = true
                    }
                    let previous = try await write(status)
                    postEvents(from: previous, to: status)
                    written = status
                    backoff.reset()
                } catch is CancellationError {
                    return
                } catch {
                    // Deleted meanwhile (by a person, or the garbage collector): create it again.
                    if let error = error as? KubeError, error.isNotFound { exists = false }
                    let delay = backoff.next()
                    logger.warning("cannot write the RouteletNode status; retrying", metadata: [
                        "node": "\(nodeName)", "error": "\(error)", "retryIn": "\(delay)",
                    ])
                    try await Task.sleep(for: delay)
                }
            }
        }
    }

    /// Writes `status` if the object holds something else; returns what it held.
    private func write(_ status: RouteletNodeStatus) async throws -> RouteletNodeStatus? {
        var previous: RouteletNodeStatus?
        let result = try await client.updateStatus(.routeletNodes, name: nodeName) { object in
            previous = try? object["status"].map { status throws(ResourceDecodingError) in
                try ResourceDecoder.decode(RouteletNodeStatus.self, from: status)
            }
            let stamped = status.stamped(from: previous, now: Date().ISO8601Format())
            guard stamped != previous else { return false }
            object["status"] = try JSONValue(encoding: stamped)
            return true
        }
        if result != nil {
            AgentMetrics.statusWrite("routeletnode")
            logger.info("RouteletNode status written", metadata: [
                "node": "\(nodeName)", "tables": "\(status.tables.count)", "ready": "\(status.condition("Ready")?.status.rawValue ?? "")",
            ])
        }
        return previous
    }

    private func ensureObject() async throws {
        do {
            _ = try await client.get(.routeletNodes, name: nodeName)
            return
        } catch let error as KubeError where error.isNotFound {
        }
        var metadata: JSONValue = ["name": .string(nodeName)]
        // Owned by the Node: when the node leaves the cluster, the garbage
        // collector removes its RouteletNode too.
        if let node = try? await client.get(.nodes, name: nodeName), let uid = node["metadata"]?["uid"]?.stringValue {
            metadata["ownerReferences"] = [["apiVersion": "v1", "kind": "Node", "name": .string(nodeName), "uid": .string(uid)]]
        }
        let object: JSONValue = ["apiVersion": .string(RouteletNode.apiVersion), "kind": .string(RouteletNode.kind), "metadata": metadata]
        do {
            _ = try await client.create(.routeletNodes, object)
            logger.info("RouteletNode created", metadata: ["node": "\(nodeName)"])
        } catch let error as KubeError where error.isAlreadyExists {
        }
    }

    /// One Event per table or gateway route whose Programmed condition
    /// changed status: about the object, in its namespace (cluster-scoped
    /// RouteTables: `eventNamespace`).
    private func postEvents(from previous: RouteletNodeStatus?, to status: RouteletNodeStatus) {
        typealias Subject = (object: EventBuilder.Object, now: [Condition], before: [Condition]?)
        let tables: [Subject] = status.tables.map { table in
            (EventBuilder.Object(apiVersion: RouteTable.apiVersion, kind: RouteTable.kind, namespace: nil, name: table.name),
             table.conditions, previous?.tables.first { $0.name == table.name }?.conditions)
        }
        let routes: [Subject] = status.gatewayRoutes.map { route in
            (EventBuilder.Object(apiVersion: GatewayRoute.apiVersion, kind: GatewayRoute.kind, namespace: route.namespace, name: route.name),
             route.conditions,
             previous?.gatewayRoutes.first { $0.namespace == route.namespace && $0.name == route.name }?.conditions)
        }
        for subject in tables + routes {
            guard let now = subject.now.first(where: { $0.type == "Programmed" }) else { continue }
            let before = subject.before?.first { $0.type == "Programmed" }
            guard before?.status != now.status else { continue }
            // Programmed on first sight is not news; a failure is.
            if before == nil && now.status == .true { continue }
            let namespace = subject.object.namespace ?? eventNamespace
            var object = subject.object
            object.uid = uids.withLock { $0[object.key] }
            let event = EventBuilder.event(
                about: object, namespace: namespace,
                type: now.status == .true ? "Normal" : "Warning", reason: now.reason ?? "Programmed",
                message: "node \(nodeName): \(now.message ?? "")", node: nodeName)
            Task { [client, logger] in
                do {
                    _ = try await client.create(.events, event, namespace: namespace)
                } catch {
                    logger.debug("cannot post an event", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}

/// core/v1 Events, as `kubectl describe` shows them.
enum EventBuilder {
    /// What an Event is about (`involvedObject`); namespace nil: cluster-scoped.
    struct Object {
        var apiVersion: String
        var kind: String
        var namespace: String?
        var name: String
        /// kubectl describe finds Events by uid too: without it they stay unseen.
        var uid: String?

        /// "RouteTable/edge", "GatewayRoute/shop/users".
        var key: String { Self.key(kind: kind, namespace: namespace, name: name) }

        static func key(kind: String, namespace: String?, name: String) -> String {
            [kind, namespace, name].compactMap { $0 }.joined(separator: "/")
        }
    }

    static func event(about object: Object, namespace: String,
                      type: String, reason: String, message: String, node: String) -> JSONValue {
        let now = Date().ISO8601Format()
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        var involved: JSONValue = ["apiVersion": .string(object.apiVersion), "kind": .string(object.kind), "name": .string(object.name)]
        if let objectNamespace = object.namespace { involved["namespace"] = .string(objectNamespace) }
        if let uid = object.uid { involved["uid"] = .string(uid) }
        return [
            "apiVersion": "v1", "kind": "Event",
            "metadata": ["name": .string("\(object.name).\(suffix)"), "namespace": .string(namespace)],
            "involvedObject": involved,
            "type": .string(type), "reason": .string(reason), "message": .string(NodeStatusBuilder.truncated(message)),
            "source": ["component": "routelet-agent", "host": .string(node)],
            "reportingComponent": "routelet-agent", "reportingInstance": .string(node),
            "firstTimestamp": .string(now), "lastTimestamp": .string(now), "count": 1,
        ]
    }
}
