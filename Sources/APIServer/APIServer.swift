import APIStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import JSONValue
import Logging
import NIOCore
import NIOSSL
import Schema
import ServiceLifecycle
import YAML

/// How `routelet apiserver` (and `routelet standalone`) run the server.
public struct APIServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: String
    /// Where to write a kubeconfig for this server, if anywhere.
    public var kubeconfigPath: String?
    /// Plain HTTP: for debugging only.
    public var insecureHTTP: Bool
    public var bookmarkInterval: Duration
    /// Watch events kept for watches that resume from a resourceVersion.
    public var historyLimit: Int
    /// A JSON line per API call (verb, resource), for RBAC checks.
    public var requestLogPath: String?

    public init(host: String = "127.0.0.1", port: Int = 6443, dataDirectory: String, kubeconfigPath: String? = nil,
                insecureHTTP: Bool = false, bookmarkInterval: Duration = .seconds(10), historyLimit: Int = 10_000,
                requestLogPath: String? = nil) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.kubeconfigPath = kubeconfigPath
        self.insecureHTTP = insecureHTTP
        self.bookmarkInterval = bookmarkInterval
        self.historyLimit = historyLimit
        self.requestLogPath = requestLogPath
    }

    /// The URL clients use.
    public var serverURL: String {
        let scheme = insecureHTTP ? "http" : "https"
        return host.contains(":") ? "\(scheme)://[\(host)]:\(port)" : "\(scheme)://\(host):\(port)"
    }
}

/// routelet's embedded, Kubernetes-compatible API server: the real thing for
/// a single machine (and for the tests), persisted in SQLite, over HTTPS with
/// a bearer token.
public struct APIServerService: Service {
    let configuration: APIServerConfiguration
    let logger: Logger
    public let handler: APIHandler
    let credentials: Credentials

    /// Opens the store, loads or creates the credentials, registers the
    /// resources and the default namespaces, writes the kubeconfig.
    public init(configuration: APIServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        credentials = try Credentials.loadOrCreate(in: configuration.dataDirectory, hosts: [configuration.host])
        let store = try ObjectStore(path: "\(configuration.dataDirectory)/objects.db", historyLimit: configuration.historyLimit)
        let registry = Registry(resources: ResourceType.builtins + (try Self.customResources()))
        handler = APIHandler(
            registry: registry, store: store, token: credentials.token,
            serverAddress: "\(configuration.host):\(configuration.port)", logger: logger,
            bookmarkInterval: configuration.bookmarkInterval,
            recorder: try configuration.requestLogPath.map { try RequestRecorder(path: $0) })
        try Self.seed(store: store, registry: registry)
        if let path = configuration.kubeconfigPath {
            try Credentials.write((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent,
                                  (path as NSString).lastPathComponent, credentials.kubeconfig(server: configuration.serverURL))
        }
    }

    /// A kubeconfig for a client on this machine: the loopback address when
    /// the server listens on every address.
    public var localKubeconfig: String {
        var local = configuration
        if ["0.0.0.0", "::", ""].contains(local.host) { local.host = "127.0.0.1" }
        return credentials.kubeconfig(server: local.serverURL)
    }

    /// The CRDs embedded from crds/, parsed once.
    static let embeddedCRDs: Result<[JSONValue], APIServerError> = {
        var crds: [JSONValue] = []
        for (name, base64) in EmbeddedFiles.files.sorted(by: { $0.key < $1.key }) {
            guard let data = Data(base64Encoded: base64), let document = try? YAML.parseDocuments(bytes: data).first else {
                return .failure(APIServerError("embedded CRD \(name) cannot be read"))
            }
            crds.append(document.value)
        }
        return .success(crds)
    }()

    /// The embedded CRDs, as served resources.
    public static func customResources() throws -> [ResourceType] {
        try embeddedCRDs.get().map { try ResourceType(crd: $0) }
    }

    /// The namespaces every cluster has, and the CRD objects themselves.
    public static func seed(store: ObjectStore, registry: Registry) throws {
        for namespace in ["default", "kube-system", "kube-public", "kube-node-lease", "routelet-system"] {
            let key = ObjectKey(resource: "core/namespaces", namespace: "", name: namespace)
            guard try store.get(key) == nil else { continue }
            _ = try store.create(key, object: [
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": ["name": .string(namespace), "uid": .string(UUID().uuidString.lowercased()),
                             "creationTimestamp": .string(APIHandler.timestamp()), "generation": 1],
                "spec": ["finalizers": ["kubernetes"]], "status": ["phase": "Active"],
            ])
        }
        for var crd in try embeddedCRDs.get() {
            guard let crdName = crd.metadata("name") else { continue }
            let key = ObjectKey(resource: "apiextensions.k8s.io/customresourcedefinitions", namespace: "", name: crdName)
            crd = crd.setting(["metadata", "creationTimestamp"], to: .string(APIHandler.timestamp()))
                .setting(["metadata", "uid"], to: .string(UUID().uuidString.lowercased()))
            if let existing = try store.get(key) {
                if existing.object["spec"] != crd["spec"] {
                    _ = try store.update(key, expectedResourceVersion: nil) { $0.setting(["spec"], to: crd["spec"]) }
                }
            } else {
                _ = try store.create(key, object: crd)
            }
        }
    }

    public func run() async throws {
        let handler = self.handler
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            try await Self.respond(to: request, handler: handler)
        }
        let server: HTTPServerBuilder
        if configuration.insecureHTTP {
            logger.warning("SERVING PLAIN HTTP (--insecure-http): the bearer token and every object cross the network unencrypted; use it for debugging only")
            server = .http1()
        } else {
            var tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(credentials.serverCertificatePEM.utf8), format: .pem))],
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(credentials.serverKeyPEM.utf8), format: .pem)))
            // How long a closing connection waits for the client's
            // close_notify (5 s by default, which kubectl's idle connections
            // often never send): what a shutdown waits for, per connection.
            tls.shutdownTimeout = .milliseconds(500)
            server = try .tls(.http1(), tlsConfiguration: tls)
        }
        let application = Application(
            responder: responder, server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "routelet-apiserver"),
            logger: logger)
        logger.info("API server listening", metadata: ["url": "\(configuration.serverURL)", "data": "\(configuration.dataDirectory)",
                                                       "kubeconfig": "\(configuration.kubeconfigPath ?? "-")"])
        // Hummingbird drains on the group's graceful shutdown; open watches
        // end then (APIHandler's watch), as a real API server's do, and
        // clients watch again.
        try await application.run()
        logger.info("API server stopped")
    }

    /// HTTP <-> APIRequest / APIResponse.
    static func respond(to request: Request, handler: APIHandler) async throws -> Response {
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        var body: Data?
        if request.method != .get {
            do {
                let buffer = try await request.body.collect(upTo: APIHandler.maxBodyBytes)
                body = Data(buffer.readableBytesView)
            } catch {
                return encode(.error(.tooLarge(APIHandler.maxBodyBytes)))
            }
        }
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        let apiRequest = APIRequest(method: request.method.rawValue, path: request.uri.path, query: query, headers: headers, body: body)
        return encode(await handler.respond(to: apiRequest))
    }

    static func encode(_ response: APIResponse) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        for (name, value) in response.headers {
            if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
        }
        let status = HTTPResponse.Status(code: response.status)
        switch response.body {
        case .json(let value):
            let data = (try? value.jsonData()) ?? Data("{}".utf8)
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        case .stream(let events):
            headers[.transferEncoding] = "chunked"
            return Response(status: status, headers: headers, body: .init { writer in
                for await event in events {
                    var line = (try? event.jsonData()) ?? Data()
                    line.append(UInt8(ascii: "\n"))
                    try await writer.write(ByteBuffer(bytes: line))
                }
                try await writer.finish(nil)
            })
        }
    }
}
