import APIStore
import Foundation
import JSONValue
import Logging
import RouteletAPI
import Schema
import YAML

/// The Kubernetes API semantics over the object store: discovery, CRUD,
/// list, watch, patch, /status, validation and Table output. Transport-free
/// (the HTTP layer hands it an ``APIRequest``), so it is tested directly.
public final class APIHandler: Sendable {
    let registry: Registry
    let store: ObjectStore
    let discovery: Discovery
    let token: String?
    let logger: Logger
    let bookmarkInterval: Duration
    let recorder: RequestRecorder?

    /// The largest request body accepted (kube-apiserver's limit).
    public static let maxBodyBytes = 3 << 20
    /// The largest object stored (etcd's limit).
    static let maxObjectBytes = 1_572_864

    public init(registry: Registry, store: ObjectStore, token: String?, serverAddress: String, logger: Logger,
                bookmarkInterval: Duration = .seconds(10), recorder: RequestRecorder? = nil) {
        self.registry = registry
        self.store = store
        self.discovery = Discovery(registry: registry, serverAddress: serverAddress)
        self.token = token
        self.logger = logger
        self.bookmarkInterval = bookmarkInterval
        self.recorder = recorder
    }

    /// Answers one request. Never throws: every failure is a Status.
    public func respond(to request: APIRequest) async -> APIResponse {
        if let token, request.headers["authorization"] != "Bearer \(token)" {
            return .error(.unauthorized())
        }
        do {
            return try await route(request)
        } catch let error as StatusError {
            return .error(error)
        } catch let error as StoreError {
            if case .invalidObject(let reason) = error { return .error(.badRequest(reason)) }
            return .error(.internalError("storage: \(error)"))
        } catch {
            logger.error("request failed", metadata: ["method": "\(request.method)", "path": "\(request.path)", "error": "\(error)"])
            return .error(.internalError("\(error)"))
        }
    }

    func route(_ request: APIRequest) async throws -> APIResponse {
        guard let path = APIPath(request.path) else { throw StatusError.pathNotFound(request.path) }
        if case .resource = path {} else {
            guard request.method == "GET" else { throw StatusError.methodNotAllowed(request.method, request.path) }
        }
        switch path {
        case .version: return .json(Discovery.kubernetesVersion)
        case .health: return .json("ok")
        case .coreVersions: return .json(discovery.coreVersions)
        case .groups: return .json(discovery.groupList)
        case .group(let name):
            guard let group = discovery.group(name) else { throw StatusError.pathNotFound(request.path) }
            return .json(group)
        case .resourceList(let group, let version):
            guard let list = discovery.resourceList(group: group, version: version) else { throw StatusError.pathNotFound(request.path) }
            return .json(list)
        case .openAPIv2: throw StatusError.pathNotFound(request.path)
        case .openAPIv3Root: return .json(discovery.openAPIRoot)
        case .openAPIv3(let group, let version):
            guard let document = discovery.openAPI(group: group, version: version) else { throw StatusError.pathNotFound(request.path) }
            return .json(document)
        case .resource(let group, let version, let plural, let namespace, let name, let subresource):
            guard let resource = registry.find(group: group, version: version, plural: plural) else {
                throw StatusError.pathNotFound(request.path)
            }
            if namespace != nil && !resource.namespaced { throw StatusError.pathNotFound(request.path) }
            if let subresource, !(subresource == "status" && resource.hasStatus) { throw StatusError.pathNotFound(request.path) }
            let target = Target(resource: resource, namespace: namespace ?? "", name: name, subresource: subresource)
            recorder?.record(verb: verb(request, target), resource: resource, subresource: subresource, namespace: namespace,
                             name: authorizedName(request, target), userAgent: request.headers["user-agent"] ?? "")
            return try await dispatch(request, target)
        }
    }

    /// What a request addresses.
    struct Target {
        var resource: ResourceType
        var namespace: String
        var name: String?
        var subresource: String?

        func key(_ name: String) -> ObjectKey {
            ObjectKey(resource: resource.storageKey, namespace: resource.namespaced ? namespace : "", name: name)
        }
    }

    /// The Kubernetes verb of a request, as RBAC names it.
    func verb(_ request: APIRequest, _ target: Target) -> String {
        switch (request.method, target.name) {
        case ("GET", nil): request.flag("watch") ? "watch" : "list"
        case ("GET", _): "get"
        case ("POST", _): "create"
        case ("PUT", _): "update"
        case ("PATCH", _): "patch"
        case ("DELETE", nil): "deletecollection"
        case ("DELETE", _): "delete"
        default: request.method.lowercased()
        }
    }

    /// The object name RBAC checks resourceNames against, as
    /// kube-apiserver's RequestInfo finds it: the name in the path, or for a
    /// list or watch an exact `metadata.name` field selector; nil otherwise.
    func authorizedName(_ request: APIRequest, _ target: Target) -> String? {
        if let name = target.name { return name }
        guard request.method == "GET", let text = request.query["fieldSelector"],
              let selector = try? FieldSelector.parse(text) else { return nil }
        let names = selector.requirements.filter { $0.field == "metadata.name" && $0.operator == .equals }
        return names.count == 1 ? names[0].value : nil
    }

    func dispatch(_ request: APIRequest, _ target: Target) async throws -> APIResponse {
        let writes = ["POST", "PUT", "PATCH", "DELETE"]
        if target.resource.readOnly && writes.contains(request.method) {
            throw StatusError.methodNotAllowed(request.method, request.path)
        }
        switch (request.method, target.name) {
        case ("GET", nil):
            return request.flag("watch") ? try watch(request, target) : try list(request, target)
        case ("GET", let name?):
            guard let stored = try store.get(target.key(name)) else { throw StatusError.notFound(target.resource, name) }
            return .json(request.wantsTable ? table(target.resource, [stored.object], resourceVersion: stored.resourceVersion, request)
                                            : stored.object)
        case ("POST", nil):
            return try create(request, target)
        case ("PUT", let name?):
            return try update(request, target, name: name)
        case ("PATCH", let name?):
            return try patch(request, target, name: name)
        case ("DELETE", let name?):
            return try delete(request, target, name: name)
        default:
            throw StatusError.methodNotAllowed(request.method, request.path)
        }
    }

    // MARK: Reading bodies

    func body(_ request: APIRequest) throws -> JSONValue {
        guard let data = request.body, !data.isEmpty else { throw StatusError.badRequest("the request body is empty") }
        guard data.count <= Self.maxBodyBytes else { throw StatusError.tooLarge(Self.maxBodyBytes) }
        switch request.contentType {
        case "application/json", "application/merge-patch+json", "application/json-patch+json", "application/strategic-merge-patch+json", "":
            do {
                return try JSONValue(jsonData: data)
            } catch {
                throw StatusError.badRequest("the request body is not valid JSON: \(error)")
            }
        case "application/yaml", "application/x-yaml":
            do {
                guard let document = try YAML.parseDocuments(bytes: data).first else { throw StatusError.badRequest("the YAML body holds no document") }
                return document.value
            } catch let error as YAMLError {
                throw StatusError.badRequest("the request body is not valid YAML: \(error)")
            }
        default:
            throw StatusError.unsupportedMediaType(request.contentType)
        }
    }
}
