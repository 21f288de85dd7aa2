import APIStore
import Foundation
import JSONValue
import RouteletAPI
import ServiceLifecycle

extension APIHandler {
    /// Which objects a list or watch wants: label and field selectors (the
    /// fields the resource supports, see ``ResourceType/selectableFields``).
    struct Filter: Sendable {
        var labels: LabelSelector?
        var fields = FieldSelector()
        let resource: ResourceType

        init(_ request: APIRequest, _ resource: ResourceType) throws {
            self.resource = resource
            if let text = request.query["labelSelector"], !text.isEmpty {
                do {
                    labels = try LabelSelector.parse(text)
                } catch {
                    throw StatusError.badRequest("unable to parse requirement: \(error)")
                }
            }
            if let text = request.query["fieldSelector"], !text.isEmpty {
                do throws(FieldSelector.ParseError) {
                    fields = try FieldSelector.parse(text)
                } catch {
                    throw StatusError.badRequest(error.message)
                }
                let supported = resource.selectableFields
                if let unsupported = fields.requirements.first(where: { !supported.contains($0.field) }) {
                    throw StatusError.badRequest("field label not supported: \(unsupported.field)")
                }
            }
        }

        /// Whether anything is filtered out at all.
        var isSelective: Bool { labels != nil || !fields.isEmpty }

        func matches(_ object: JSONValue) -> Bool {
            if !fields.matches({ resource.fieldValue($0, of: object) }) { return false }
            if let labels, !labels.matches(object.labels) { return false }
            return true
        }
    }

    // MARK: List

    func list(_ request: APIRequest, _ target: Target) throws -> APIResponse {
        let filter = try Filter(request, target.resource)
        let limit = request.query["limit"].flatMap { Int($0) }.map { max(1, $0) }
        let token = request.query["continue"].flatMap { $0.isEmpty ? nil : $0 }
        let namespace = target.resource.namespaced && !target.namespace.isEmpty ? target.namespace : nil
        var items: [StoredObject] = []
        var resourceVersion: Int64 = 0
        var next: String?
        do {
            (items, resourceVersion, next) = try readPages(target.resource, namespace: namespace, limit: limit, from: token, filter: filter)
        } catch .expired {
            throw StatusError.gone("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
        } catch .badContinueToken {
            throw StatusError.badRequest("the continue token is not valid")
        } catch {
            throw StatusError.internalError("storage: \(error)")
        }
        if let limit, items.count > limit { items = Array(items.prefix(limit)) }
        if request.wantsTable {
            return .json(table(target.resource, items.map(\.object), resourceVersion: resourceVersion, request, continueToken: next))
        }
        var metadata: JSONObject = ["resourceVersion": .string(String(resourceVersion))]
        if let next, limit != nil { metadata["continue"] = .string(next) }
        return .json(["kind": .string(target.resource.listKind), "apiVersion": .string(target.resource.groupVersion),
                      "metadata": .object(metadata), "items": .array(items.map(\.object))])
    }

    /// Pages from the store, filtered, until `limit` matching items (or the end).
    func readPages(_ resource: ResourceType, namespace: String?, limit: Int?, from start: String?,
                   filter: Filter) throws(StoreError) -> ([StoredObject], Int64, String?) {
        var items: [StoredObject] = []
        var resourceVersion: Int64 = 0
        var token = start
        repeat {
            let page = try store.list(resource: resource.storageKey, namespace: namespace, limit: limit ?? 500, continueToken: token)
            if resourceVersion == 0 { resourceVersion = page.resourceVersion }
            items += page.items.filter { filter.matches($0.object) }
            token = page.continueToken
        } while token != nil && (limit == nil || items.count < limit!)
        return (items, resourceVersion, token)
    }

    // MARK: Table

    /// `kubectl get` output: Name, the printer columns, and each row's
    /// object (metadata only unless includeObject=Object).
    func table(_ resource: ResourceType, _ objects: [JSONValue], resourceVersion: Int64, _ request: APIRequest,
               continueToken: String? = nil) -> JSONValue {
        var columns: [JSONValue] = [["name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0]]
        let paths = resource.printerColumns.map { column in (column, try? JSONPath(column.jsonPath)) }
        for (column, _) in paths {
            columns.append(["name": .string(column.name), "type": .string(column.type), "format": .string(column.format),
                            "description": .string(column.description), "priority": .integer(Int64(column.priority))])
        }
        let include = request.query["includeObject"] ?? "Metadata"
        let rows: [JSONValue] = objects.map { object in
            var cells: [JSONValue] = [.string(object.metadata("name") ?? "")]
            for (column, path) in paths {
                let cell = path.map { $0.cell(object, type: column.type) } ?? .null
                // As kube-apiserver does: a date column shows an age ("5m").
                if column.type == "date", let text = cell.stringValue {
                    cells.append(Self.age(since: text).map { .string($0) } ?? cell)
                } else {
                    cells.append(cell)
                }
            }
            var row: JSONObject = ["cells": .array(cells)]
            switch include {
            case "Object": row["object"] = object
            case "None": break
            default:
                row["object"] = ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"] ?? .object([:])]
            }
            return .object(row)
        }
        var metadata: JSONObject = ["resourceVersion": .string(String(resourceVersion))]
        if let continueToken { metadata["continue"] = .string(continueToken) }
        return ["kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": .object(metadata),
                "columnDefinitions": .array(columns), "rows": .array(rows)]
    }

    /// "45s", "7m", "3h", "12d": a timestamp's age, as kubectl prints it.
    static func age(since timestamp: String) -> String? {
        guard let date = try? Date(timestamp, strategy: .iso8601) else { return nil }
        let seconds = max(0, Int(Date().timeIntervalSince(date)))
        switch seconds {
        case ..<120: return "\(seconds)s"
        case ..<(120 * 60): return "\(seconds / 60)m"
        case ..<(48 * 3600): return "\(seconds / 3600)h"
        default: return "\(seconds / 86400)d"
        }
    }

    // MARK: Watch

    /// A stream of watch events as JSON lines: from a resourceVersion (or,
    /// without one, the current objects as ADDED first), bookmarks when asked
    /// for, ending after timeoutSeconds. A version older than the history
    /// gets a single ERROR event with a 410 Expired Status, as Kubernetes does.
    func watch(_ request: APIRequest, _ target: Target) throws -> APIResponse {
        let filter = try Filter(request, target.resource)
        let resource = target.resource
        let namespace = resource.namespaced && !target.namespace.isEmpty ? target.namespace : nil
        let requested = request.query["resourceVersion"].flatMap { Int64($0) } ?? 0
        let bookmarks = request.flag("allowWatchBookmarks")
        let timeout = request.query["timeoutSeconds"].flatMap { Int($0) }.map { min(max($0, 1), 3600) } ?? Int.random(in: 1800...3600)
        let asTable = request.wantsTable

        var initial: [JSONValue] = []
        var from = requested
        if requested == 0 {
            var token: String?
            repeat {
                let page = try store.list(resource: resource.storageKey, namespace: namespace, limit: 500, continueToken: token)
                if from == 0 { from = page.resourceVersion }
                initial += page.items.map(\.object).filter { filter.matches($0) }
                token = page.continueToken
            } while token != nil
        }
        let events: Watcher
        switch Result(catching: { () throws(StoreError) -> Watcher in
            try self.store.watch(resource: resource.storageKey, namespace: namespace, fromResourceVersion: from)
        }) {
        case .success(let watcher):
            events = watcher
        case .failure(.expired):
            let gone = StatusError.gone("too old resource version: \(requested)")
            return APIResponse(status: 200, body: .stream(AsyncStream { continuation in
                continuation.yield(["type": "ERROR", "object": gone.status])
                continuation.finish()
            }))
        case .failure(let error):
            throw StatusError.internalError("storage: \(error)")
        }

        let interval = bookmarkInterval
        let store = self.store
        let initialObjects = initial
        let handler = self
        let stream = AsyncStream<JSONValue> { continuation in
            let task = Task {
                func render(_ object: JSONValue) -> JSONValue {
                    asTable ? handler.table(resource, [object], resourceVersion: Int64(object.metadata("resourceVersion") ?? "") ?? 0, request) : object
                }
                for object in initialObjects { continuation.yield(["type": "ADDED", "object": render(object)]) }
                let initialKeys = Set(initialObjects.map { "\($0.metadata("namespace") ?? "")/\($0.metadata("name") ?? "")" })
                let deadline = ContinuousClock.now + .seconds(timeout)
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        try? await Task.sleep(until: deadline)
                    }
                    group.addTask {
                        // The server's graceful shutdown (this task inherits
                        // the request's task-locals); without one, this waits
                        // until cancelled.
                        try? await gracefulShutdown()
                    }
                    if bookmarks {
                        group.addTask {
                            while !Task.isCancelled {
                                try? await Task.sleep(for: interval)
                                if Task.isCancelled { break }
                                continuation.yield(["type": "BOOKMARK", "object": [
                                    "kind": .string(resource.kind), "apiVersion": .string(resource.groupVersion),
                                    "metadata": ["resourceVersion": .string(String(store.currentResourceVersion))],
                                ]])
                            }
                        }
                    }
                    group.addTask {
                        // Objects the client has seen matching, so that label
                        // changes become ADDED / DELETED as Kubernetes reports them.
                        var visible = initialKeys
                        for await event in events {
                            let object = event.object.object
                            let key = "\(object.metadata("namespace") ?? "")/\(object.metadata("name") ?? "")"
                            let matches = filter.matches(object)
                            let wasVisible = visible.contains(key)
                            let type: String
                            if !filter.isSelective {
                                type = event.type.rawValue
                            } else {
                                // With a selector, an object entering or leaving
                                // it is ADDED or DELETED for this watch.
                                switch (event.type, wasVisible || requested != 0, matches) {
                                case (.deleted, true, _): type = "DELETED"; visible.remove(key)
                                case (.deleted, false, _): continue
                                case (_, false, true): type = "ADDED"; visible.insert(key)
                                case (.added, true, true): type = "ADDED"; visible.insert(key)
                                case (_, true, true): type = "MODIFIED"
                                case (_, true, false) where wasVisible: type = "DELETED"; visible.remove(key)
                                default: continue
                                }
                            }
                            continuation.yield(["type": .string(type), "object": render(object)])
                        }
                    }
                    // The first task to end (timeout, or the store ending
                    // the watch) ends the response.
                    await group.next()
                    group.cancelAll()
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return APIResponse(status: 200, body: .stream(stream))
    }
}
