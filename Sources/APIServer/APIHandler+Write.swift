import APIStore
import Foundation
import JSONValue

extension APIHandler {
    // MARK: Create

    func create(_ request: APIRequest, _ target: Target) throws -> APIResponse {
        let resource = target.resource
        var object = try body(request)
        guard object.objectValue != nil else { throw StatusError.badRequest("the request body must be a JSON object") }
        try checkTypeMeta(object, resource)

        var name = object.metadata("name") ?? ""
        if name.isEmpty, let prefix = object.metadata("generateName"), !prefix.isEmpty {
            name = prefix + String((0..<5).map { _ in "bcdfghjklmnpqrstvwxz2456789".randomElement()! })
            object = object.setting(["metadata", "name"], to: .string(name))
        }
        if resource.namespaced {
            if let namespace = object.metadata("namespace"), !namespace.isEmpty, namespace != target.namespace {
                throw StatusError.badRequest("the namespace of the provided object (\(namespace)) does not match the namespace sent on the request (\(target.namespace))")
            }
            guard !target.namespace.isEmpty else { throw StatusError.badRequest("a namespace is required to create \(resource.plural)") }
            guard try store.get(namespaceKey(target.namespace)) != nil else {
                throw StatusError(code: 404, reason: "NotFound", message: "namespaces \"\(target.namespace)\" not found",
                                  name: target.namespace, group: "", kind: "namespaces")
            }
            object = object.setting(["metadata", "namespace"], to: .string(target.namespace))
        }

        let (validated, warnings) = try validate(object, resource, name: name, request: request)
        var stored = validated
        let now = Self.timestamp()
        stored = stored.setting(["metadata", "uid"], to: .string(UUID().uuidString.lowercased()))
        stored = stored.setting(["metadata", "creationTimestamp"], to: .string(now))
        stored = stored.setting(["metadata", "resourceVersion"], to: nil)
        stored = stored.setting(["metadata", "deletionTimestamp"], to: nil)
        stored = stored.setting(["metadata", "generation"], to: .integer(1))
        if resource.hasStatus && resource.schema != nil { stored = stored.setting(["status"], to: nil) }
        if resource.storageKey == "core/namespaces" && stored["status"] == nil {
            stored = stored.setting(["status"], to: ["phase": "Active"])
        }
        try checkSize(stored)
        if request.query["dryRun"] == "All" { return .json(stored, status: 201, warnings: warnings) }
        switch Result(catching: { () throws(StoreError) in try store.create(target.key(name), object: stored) }) {
        case .success(let created): return .json(created.object, status: 201, warnings: warnings)
        case .failure(let error): throw Self.translate(error, resource, name)
        }
    }

    // MARK: Update and patch

    func update(_ request: APIRequest, _ target: Target, name: String) throws -> APIResponse {
        let object = try body(request)
        guard object.objectValue != nil else { throw StatusError.badRequest("the request body must be a JSON object") }
        try checkTypeMeta(object, target.resource)
        if let bodyName = object.metadata("name"), bodyName != name {
            throw StatusError.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        let expected = object.metadata("resourceVersion").flatMap { $0.isEmpty ? nil : Int64($0) }
        var warnings: [String] = []
        let result = try write(target, name: name, expectedResourceVersion: expected) { current in
            let (next, found) = try self.merge(incoming: object, into: current, target, name: name, request: request)
            warnings = found
            return next
        }
        return .json(result, warnings: warnings)
    }

    func patch(_ request: APIRequest, _ target: Target, name: String) throws -> APIResponse {
        let patch = try body(request)
        let type = request.contentType
        var warnings: [String] = []
        let result = try write(target, name: name, expectedResourceVersion: nil) { current in
            let patched: JSONValue
            switch type {
            case "application/merge-patch+json", "application/strategic-merge-patch+json":
                // Strategic merge is accepted for built-ins as a merge patch
                // (lists are replaced, not merged by key); CRDs reject it.
                if type == "application/strategic-merge-patch+json" && target.resource.schema != nil {
                    throw StatusError.unsupportedMediaType(type)
                }
                patched = current.mergePatched(with: patch)
            case "application/json-patch+json":
                do {
                    patched = try current.applyingJSONPatch(patch)
                } catch {
                    throw StatusError(code: 422, reason: "Invalid", message: "the JSON patch could not be applied: \(error)")
                }
            default:
                throw StatusError.unsupportedMediaType(type)
            }
            if let version = patched.metadata("resourceVersion"), !version.isEmpty, version != current.metadata("resourceVersion") {
                throw StatusError.conflict(target.resource, name)
            }
            let (next, found) = try self.merge(incoming: patched, into: current, target, name: name, request: request)
            warnings = found
            return next
        }
        return .json(result, warnings: warnings)
    }

    /// The object to store when `incoming` replaces `current`: server-owned
    /// fields kept, /status and the main resource each writing only their
    /// part, generation bumped on a spec change, validated.
    func merge(incoming: JSONValue, into current: JSONValue, _ target: Target, name: String,
               request: APIRequest) throws -> (JSONValue, [String]) {
        let resource = target.resource
        var next: JSONValue
        if target.subresource == "status" {
            // /status writes status only.
            next = current.setting(["status"], to: incoming["status"])
        } else {
            next = incoming
            if resource.hasStatus { next = next.setting(["status"], to: current["status"]) }
        }
        for key in ["uid", "creationTimestamp", "namespace", "name", "deletionTimestamp", "generation"] {
            next = next.setting(["metadata", key], to: current["metadata"]?[key])
        }
        next = next.setting(["apiVersion"], to: current["apiVersion"]).setting(["kind"], to: current["kind"])
        if current["metadata"]?["deletionTimestamp"] != nil {
            let before = Set(current["metadata"]?["finalizers"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            let after = Set(next["metadata"]?["finalizers"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            if !after.isSubset(of: before) {
                throw StatusError.invalid(resource, name, [StatusError.Cause(
                    reason: "FieldValueForbidden", message: "Forbidden: no new finalizers can be added if the object is being deleted",
                    field: "metadata.finalizers")])
            }
        }
        if spec(of: next) != spec(of: current) {
            let generation = current["metadata"]?["generation"]?.integerValue ?? 0
            next = next.setting(["metadata", "generation"], to: .integer(generation + 1))
        }
        let (validated, warnings) = try validate(next, resource, name: name, request: request)
        try checkSize(validated)
        return (validated, warnings)
    }

    /// Everything but metadata and status: what a generation counts.
    func spec(of object: JSONValue) -> JSONValue {
        guard var members = object.objectValue else { return object }
        for key in ["metadata", "status", "apiVersion", "kind"] { members[key] = nil }
        return .object(members)
    }

    /// Runs a read-modify-write in the store, finishing a deletion whose
    /// last finalizer the write removed.
    func write(_ target: Target, name: String, expectedResourceVersion: Int64?,
               _ transform: @escaping (JSONValue) throws -> JSONValue) throws -> JSONValue {
        let key = target.key(name)
        let updated: StoredObject
        do {
            updated = try store.update(key, expectedResourceVersion: expectedResourceVersion, transform)
        } catch let error as StoreError {
            throw Self.translate(error, target.resource, name)
        }
        if updated.object["metadata"]?["deletionTimestamp"] != nil,
           updated.object["metadata"]?["finalizers"]?.arrayValue?.isEmpty ?? true {
            do {
                _ = try store.delete(key, expectedResourceVersion: updated.resourceVersion)
            } catch {
                // Someone wrote it again first; whoever removes the last
                // finalizer after that finishes the deletion.
                logger.info("finalizer removal did not finish the deletion", metadata: ["object": "\(key)", "error": "\(error)"])
            }
        }
        return updated.object
    }

    // MARK: Delete

    func delete(_ request: APIRequest, _ target: Target, name: String) throws -> APIResponse {
        var expected: Int64?
        if let data = request.body, !data.isEmpty, let options = try? JSONValue(jsonData: data) {
            expected = options["preconditions"]?["resourceVersion"]?.stringValue.flatMap { Int64($0) }
            if let uid = options["preconditions"]?["uid"]?.stringValue,
               let current = try store.get(target.key(name)), current.object.metadata("uid") != uid {
                throw StatusError(code: 409, reason: "Conflict",
                                  message: "Precondition failed: UID in precondition: \(uid), UID in object meta: \(current.object.metadata("uid") ?? "")")
            }
        }
        let key = target.key(name)
        guard let current = try store.get(key) else { throw StatusError.notFound(target.resource, name) }
        if request.query["dryRun"] == "All" { return .json(current.object) }
        if target.resource.storageKey == "core/namespaces" { try deleteContents(ofNamespace: name) }
        let finalizers = current.object["metadata"]?["finalizers"]?.arrayValue ?? []
        if !finalizers.isEmpty {
            // Marked for deletion; gone when the last finalizer is removed.
            let marked = try write(target, name: name, expectedResourceVersion: expected) { object in
                object["metadata"]?["deletionTimestamp"] != nil ? object
                    : object.setting(["metadata", "deletionTimestamp"], to: .string(Self.timestamp()))
                        .setting(["metadata", "deletionGracePeriodSeconds"], to: .integer(0))
            }
            return .json(marked, status: 202)
        }
        switch Result(catching: { () throws(StoreError) in try store.delete(key, expectedResourceVersion: expected) }) {
        case .success(let deleted): return .json(deleted.object)
        case .failure(let error): throw Self.translate(error, target.resource, name)
        }
    }

    /// A namespace takes its objects with it.
    func deleteContents(ofNamespace namespace: String) throws {
        for resource in registry.resources where resource.namespaced {
            var token: String?
            repeat {
                let page = try store.list(resource: resource.storageKey, namespace: namespace, limit: 500, continueToken: token)
                for item in page.items {
                    do {
                        _ = try store.delete(item.key, expectedResourceVersion: nil)
                    } catch StoreError.notFound {
                        continue   // deleted meanwhile
                    }
                }
                token = page.continueToken
            } while token != nil
        }
    }

    /// A store failure as the Status a client expects.
    static func translate(_ error: StoreError, _ resource: ResourceType, _ name: String) -> StatusError {
        switch error {
        case .notFound: .notFound(resource, name)
        case .conflict: .conflict(resource, name)
        case .alreadyExists: .alreadyExists(resource, name)
        case .invalidObject(let reason): .badRequest(reason)
        default: .internalError("storage: \(error)")
        }
    }

    // MARK: Shared checks

    func namespaceKey(_ name: String) -> ObjectKey { ObjectKey(resource: "core/namespaces", namespace: "", name: name) }

    func checkTypeMeta(_ object: JSONValue, _ resource: ResourceType) throws {
        let apiVersion = object["apiVersion"]?.stringValue ?? ""
        let kind = object["kind"]?.stringValue ?? ""
        guard !kind.isEmpty, !apiVersion.isEmpty else {
            throw StatusError.badRequest("Object 'Kind' or 'apiVersion' is missing in the request body")
        }
        guard apiVersion == resource.groupVersion, kind == resource.kind else {
            throw StatusError.badRequest("the API version in the data (\(apiVersion)) does not match the expected API version (\(resource.groupVersion)), or the kind (\(kind)) is not \(resource.kind)")
        }
    }

    func checkSize(_ object: JSONValue) throws {
        let size = (try? object.jsonData().count) ?? 0
        guard size <= Self.maxObjectBytes else {
            throw StatusError(code: 413, reason: "RequestEntityTooLarge", message: "the object is \(size) bytes; at most \(Self.maxObjectBytes) are stored")
        }
    }

    /// Now, as Kubernetes writes timestamps: RFC 3339 in UTC, whole seconds.
    static func timestamp() -> String {
        Date().ISO8601Format()
    }
}
