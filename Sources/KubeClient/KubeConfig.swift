import Foundation
import JSONValue
import YAML

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// PEM material for TLS: a file that is handed to the TLS library by path,
/// or the bytes themselves (decoded from a kubeconfig's `*-data` field).
public enum PEMSource: Sendable, Hashable {
    case file(String)
    case data(Data)
}

/// Where the API server is and how to authenticate to it: what a
/// kubeconfig context or a pod's service account says, reduced to what
/// routelet's client uses (bearer tokens and client certificates).
public struct KubeConfig: Sendable {
    /// "https://host:port", without a trailing slash (a path prefix such as
    /// a proxy's `/k8s/clusters/c-1` is kept); IPv6 hosts in brackets.
    public var server: String
    /// The CA that signed the server's certificate; nil: the system trust store.
    public var certificateAuthority: PEMSource?
    /// Do not verify the server's certificate at all. When true the
    /// ``certificateAuthority`` is ignored (kubectl accepts both together too).
    public var insecureSkipTLSVerify: Bool
    /// The name to check the server's certificate against, when it differs
    /// from the host in ``server`` (e.g. a server reached by IP address).
    public var tlsServerName: String?
    public var clientCertificate: PEMSource?
    public var clientKey: PEMSource?
    /// The bearer token; nil when the user has none (client certificate only, or anonymous).
    public var token: TokenSource?
    /// The context's namespace, or in a pod the service account's namespace.
    public var namespace: String?
    /// Where this configuration came from, for log lines and messages, e.g.
    /// "kubeconfig /root/.kube/config, context prod" or "in-cluster service account".
    public var origin: String

    public init(server: String, certificateAuthority: PEMSource? = nil, insecureSkipTLSVerify: Bool = false,
                tlsServerName: String? = nil, clientCertificate: PEMSource? = nil, clientKey: PEMSource? = nil,
                token: TokenSource? = nil, namespace: String? = nil, origin: String) {
        self.server = server
        self.certificateAuthority = certificateAuthority
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.tlsServerName = tlsServerName
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.token = token
        self.namespace = namespace
        self.origin = origin
    }

    /// Where Kubernetes mounts a pod's service account: token, ca.crt, namespace.
    public static let defaultServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The largest kubeconfig read; embedded certificates make them tens of
    /// kilobytes, so anything bigger is the wrong file.
    public static let maxFileSize = 16 << 20
}

// MARK: - Kubeconfig files

extension KubeConfig {
    /// Parses kubeconfig YAML and picks one context, as kubectl would.
    ///
    /// Relative file paths in the kubeconfig (`certificate-authority`,
    /// `client-certificate`, `client-key`, `tokenFile`) are resolved against
    /// the directory of `path`, as client-go does. Referenced files are not
    /// read here; ``load(path:context:)`` checks them.
    ///
    /// Where a field comes both ways, `*-data` wins over the file path and
    /// `tokenFile` over `token` (client-go's transport also ends up sending
    /// the file's token). A user with `exec`, `auth-provider`, basic auth or
    /// impersonation is an error: routelet supports bearer tokens and client
    /// certificates only, and would rather say so than connect as someone else.
    ///
    /// - Parameters:
    ///   - path: the kubeconfig's path, for messages and relative paths.
    ///   - context: the context to use instead of `current-context`.
    public static func parse(_ bytes: some Collection<UInt8>, path: String, context: String? = nil) throws(KubeConfigError) -> KubeConfig {
        let source = "kubeconfig \(path)"
        let documents: [YAMLDocument]
        do {
            documents = try YAML.parseDocuments(bytes: bytes)
        } catch {
            throw KubeConfigError(code: .malformed, source: source, line: error.line,
                                  message: "is not valid YAML: \(error.message) (column \(error.column))")
        }
        guard let document = documents.first else {
            throw KubeConfigError(code: .malformed, source: source,
                                  message: "is empty; a kubeconfig needs clusters, users, contexts and a current-context")
        }
        guard documents.count == 1 else {
            throw KubeConfigError(code: .malformed, source: source, line: documents[1].startLine,
                                  message: "holds \(documents.count) YAML documents; a kubeconfig is one document (kubectl would silently use the first)")
        }
        let reader = KubeconfigReader(path: path, document: document)
        return try reader.config(context: context)
    }

    /// Reads and parses the kubeconfig at `path` (see ``parse(_:path:context:)``)
    /// and checks that the files it refers to can be read, so that a typo in
    /// a path is reported now rather than as a TLS failure later.
    public static func load(path: String, context: String? = nil) throws(KubeConfigError) -> KubeConfig {
        let bytes: [UInt8]
        do {
            bytes = try LocalFile.read(path, limit: maxFileSize)
        } catch {
            throw KubeConfigError(code: .unreadable, source: "kubeconfig \(path)", message: "cannot be read: \(error)")
        }
        let config = try parse(bytes, path: path, context: context)
        try config.checkReferencedFiles()
        return config
    }

    /// Checks that the certificate, key and token files this configuration
    /// names can be read (and reads the token, which primes its cache).
    public func checkReferencedFiles() throws(KubeConfigError) {
        let files: [(String, PEMSource?)] = [
            ("certificate authority", insecureSkipTLSVerify ? nil : certificateAuthority),
            ("client certificate", clientCertificate), ("client key", clientKey),
        ]
        for case let (role, .file(path)?) in files {
            do {
                _ = try LocalFile.read(path, limit: Self.maxFileSize)
            } catch {
                throw KubeConfigError(code: .unreadable, source: origin,
                                      message: "cannot read the \(role) file \(path): \(error)")
            }
        }
        _ = try token?.current()
    }
}

// MARK: - In-cluster

extension KubeConfig {
    /// The configuration of a pod: the API server from the
    /// `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT` variables the
    /// kubelet sets, and the service account's token, CA and namespace from
    /// `serviceAccountDirectory`.
    ///
    /// The token file is re-read about once a minute, because bound service
    /// account tokens rotate. The namespace is `POD_NAMESPACE` when set (as in
    /// client-go), else the `namespace` file, else nil. The token and CA are
    /// read once here, so that a pod without a mounted service account
    /// (`automountServiceAccountToken: false`) fails at start with a clear message.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccountDirectory: String = defaultServiceAccountDirectory
    ) throws(KubeConfigError) -> KubeConfig {
        let source = "in-cluster service account"
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
              let portText = environment["KUBERNETES_SERVICE_PORT"], !portText.isEmpty else {
            throw KubeConfigError(code: .missing, source: source,
                                  message: "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be set (the kubelet sets them in every pod); outside a pod, give routelet a kubeconfig with --kubeconfig")
        }
        guard let port = UInt16(portText), port != 0 else {
            throw KubeConfigError(code: .invalidValue, source: source, field: "KUBERNETES_SERVICE_PORT",
                                  message: "is \"\(portText)\", not a port number (1-65535)")
        }
        // Like Go's net.JoinHostPort: an IPv6 address needs brackets before ":port".
        let bracketedHost = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host

        let directory = serviceAccountDirectory.hasSuffix("/") && serviceAccountDirectory.count > 1
            ? String(serviceAccountDirectory.dropLast()) : serviceAccountDirectory
        let tokenPath = "\(directory)/token"
        let caPath = "\(directory)/ca.crt"
        let token = TokenSource(file: tokenPath)
        do {
            _ = try token.current()
        } catch {
            throw KubeConfigError(code: error.code, source: source, field: tokenPath,
                                  message: "\(error.message); is a service account token mounted in this pod (automountServiceAccountToken)?")
        }
        do {
            _ = try LocalFile.read(caPath, limit: maxFileSize)
        } catch {
            throw KubeConfigError(code: .unreadable, source: source, field: caPath,
                                  message: "cannot read the cluster's CA certificate: \(error)")
        }

        var namespace: String?
        if let fromEnvironment = environment["POD_NAMESPACE"], !fromEnvironment.isEmpty {
            namespace = fromEnvironment
        } else {
            let namespacePath = "\(directory)/namespace"
            do {
                let text = String(decoding: try LocalFile.read(namespacePath, limit: 4096), as: UTF8.self)
                let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
                namespace = trimmed.isEmpty ? nil : trimmed
            } catch LocalFile.Failure.system(_, ENOENT) {
                namespace = nil   // older clusters and some test setups have no namespace file
            } catch {
                throw KubeConfigError(code: .unreadable, source: source, field: namespacePath,
                                      message: "cannot read the service account's namespace: \(error)")
            }
        }

        return KubeConfig(server: "https://\(bracketedHost):\(port)", certificateAuthority: .file(caPath),
                          token: token, namespace: namespace, origin: source)
    }
}

// MARK: - Choosing a source

extension KubeConfig {
    /// Finds the configuration the agent uses, in this order:
    ///
    /// 1. `explicitPath` (`--kubeconfig`), when given: its errors are final.
    /// 2. `$KUBECONFIG`, a colon-separated list: the first file that exists.
    ///    Unlike kubectl, the files are **not merged**: only that one file is
    ///    read, so its contexts, clusters and users must all be in it.
    /// 3. `~/.kube/config`, if it exists.
    /// 4. In-cluster (``inCluster(environment:serviceAccountDirectory:)``),
    ///    if `KUBERNETES_SERVICE_HOST` is set.
    ///
    /// Otherwise the error lists what was tried. The chosen source is in
    /// ``origin``; log it, since a `$KUBECONFIG` naming only missing files
    /// falls through to the later sources.
    ///
    /// - Parameter context: overrides `current-context` of a kubeconfig
    ///   (ignored in-cluster, where there are no contexts).
    public static func resolve(
        explicitPath: String?,
        context: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        homeDirectory: String = NSHomeDirectory(),
        serviceAccountDirectory: String = defaultServiceAccountDirectory
    ) throws(KubeConfigError) -> KubeConfig {
        var tried: [String] = []

        if let explicitPath, !explicitPath.isEmpty {
            return try load(path: explicitPath, context: context)
        }
        tried.append("--kubeconfig: not given")

        if let list = environment["KUBECONFIG"], !list.isEmpty {
            let paths = list.split(separator: ":", omittingEmptySubsequences: true).map(String.init)
            if let existing = paths.first(where: { FileManager.default.fileExists(atPath: $0) }) {
                return try load(path: existing, context: context)
            }
            tried.append("$KUBECONFIG: none of \(paths.joined(separator: ", ")) exists")
        } else {
            tried.append("$KUBECONFIG: not set")
        }

        if !homeDirectory.isEmpty {
            let home = homeDirectory.hasSuffix("/") ? String(homeDirectory.dropLast()) : homeDirectory
            let defaultPath = "\(home)/.kube/config"
            if FileManager.default.fileExists(atPath: defaultPath) {
                return try load(path: defaultPath, context: context)
            }
            tried.append("\(defaultPath): does not exist")
        } else {
            tried.append("~/.kube/config: no home directory")
        }

        if let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty {
            return try inCluster(environment: environment, serviceAccountDirectory: serviceAccountDirectory)
        }
        tried.append("in-cluster: KUBERNETES_SERVICE_HOST is not set")

        throw KubeConfigError(
            code: .notFound, source: "Kubernetes API configuration",
            message: "none found; tried \(tried.joined(separator: "; ")). Pass --kubeconfig PATH, set KUBECONFIG, or run routelet in a pod with a service account")
    }
}

// MARK: - Errors

/// Why no usable Kubernetes API configuration could be made: which source
/// (file, line, field) and what to change.
public struct KubeConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Code: Sendable, Hashable {
        /// A file could not be read (kubeconfig, token, certificate, key).
        case unreadable
        /// Not YAML, or not shaped like a kubeconfig (empty, not a mapping, several documents).
        case malformed
        /// A required field or variable is absent.
        case missing
        /// A field of the wrong type, bad base64, a server that is not an http(s) URL, a bad port or token.
        case invalidValue
        /// A context, cluster or user name that the kubeconfig does not define.
        case unknownName
        /// Something routelet deliberately does not do: exec plugins, auth
        /// providers, basic auth, impersonation, proxies.
        case unsupported
        /// ``KubeConfig/resolve(explicitPath:context:environment:homeDirectory:serviceAccountDirectory:)`` found no source.
        case notFound
    }

    public var code: Code
    /// "kubeconfig /root/.kube/config", "in-cluster service account", "token file /path".
    public var source: String
    /// The 1-based line in the kubeconfig where the field's value starts (for
    /// a block mapping, its first member), or of the nearest enclosing node
    /// when the field is missing.
    public var line: Int?
    /// The field as a path, e.g. `users[0].user.exec`, or a variable or file name.
    public var field: String?
    /// What is wrong, and what to do about it.
    public var message: String

    public init(code: Code, source: String, line: Int? = nil, field: String? = nil, message: String) {
        self.code = code
        self.source = source
        self.line = line
        self.field = field
        self.message = message
    }

    /// "kubeconfig /root/.kube/config, line 12, clusters[0].cluster.server: is missing; ..."
    public var description: String {
        var text = source
        if let line { text += ", line \(line)" }
        if let field { text += ", \(field)" }
        return text + ": " + message
    }
}

// MARK: - Reading a kubeconfig document

/// Walks one kubeconfig document, turning every problem into an error that
/// names the file, the line and the field.
private struct KubeconfigReader {
    let path: String
    let document: YAMLDocument

    var source: String { "kubeconfig \(path)" }
    var root: JSONValue { document.value }

    /// The absolute directory of the kubeconfig: relative paths inside it
    /// are resolved against it, as client-go does.
    var directory: String {
        URL(fileURLWithPath: path).deletingLastPathComponent().path
    }

    func config(context override: String?) throws(KubeConfigError) -> KubeConfig {
        guard case .object = root else {
            throw KubeConfigError(code: .malformed, source: source, line: document.startLine,
                                  message: "is \(Self.describe(root)), not a mapping; a kubeconfig has clusters, users, contexts and a current-context")
        }
        if let kind = try string("kind"), kind != "Config" {
            throw error(.malformed, "kind", "is \"\(kind)\"; a kubeconfig has kind Config (is this the right file?)")
        }

        // The context.
        let contextName: String
        let contextWantedBy: String?
        if let override, !override.isEmpty {
            contextName = override
            contextWantedBy = nil
        } else if let current = try string("current-context") {
            contextName = current
            contextWantedBy = "current-context"
        } else {
            let names = try entryNames("contexts")
            throw error(.missing, "current-context",
                        "is not set, so there is no context to use; set it with `kubectl --kubeconfig \(path) config use-context NAME` or choose a context explicitly (contexts: \(Self.list(names)))")
        }
        let contextField = try entry(named: contextName, in: "contexts", body: "context", wantedBy: contextWantedBy)

        guard let clusterName = try string("\(contextField).cluster") else {
            throw error(.missing, "\(contextField).cluster", "is missing; context \"\(contextName)\" must name one of the clusters")
        }
        let userName = try string("\(contextField).user")
        let namespace = try string("\(contextField).namespace")

        // The cluster.
        let clusterField = try entry(named: clusterName, in: "clusters", body: "cluster", wantedBy: "\(contextField).cluster")
        guard let serverText = try string("\(clusterField).server") else {
            throw error(.missing, "\(clusterField).server", "is missing; cluster \"\(clusterName)\" needs the API server's URL, e.g. https://10.0.0.1:6443")
        }
        let server = try checkedServer(serverText, field: "\(clusterField).server")
        if try present("\(clusterField).proxy-url") {
            throw error(.unsupported, "\(clusterField).proxy-url",
                        "is set, but routelet does not connect through proxies; remove it and give routelet a direct route to the API server")
        }
        let certificateAuthority = try pem(dataField: "\(clusterField).certificate-authority-data",
                                           fileField: "\(clusterField).certificate-authority")
        let insecure = try bool("\(clusterField).insecure-skip-tls-verify") ?? false
        let tlsServerName = try string("\(clusterField).tls-server-name")

        var config = KubeConfig(server: server, certificateAuthority: certificateAuthority, insecureSkipTLSVerify: insecure,
                                tlsServerName: tlsServerName, namespace: namespace,
                                origin: "kubeconfig \(path), context \(contextName)")

        // The user. A context without one connects anonymously, which is
        // what a `kubectl proxy` endpoint expects.
        if let userName {
            try readUser(named: userName, wantedBy: "\(contextField).user", into: &config)
        }
        return config
    }

    private func readUser(named name: String, wantedBy: String, into config: inout KubeConfig) throws(KubeConfigError) {
        let userField = try entry(named: name, in: "users", body: "user", wantedBy: wantedBy)
        let supported = "routelet supports bearer tokens (token, tokenFile) and client certificates (client-certificate, client-key) only; use a user with one of those, e.g. a service account token from `kubectl create token NAME`"

        if try present("\(userField).exec") {
            let command = value("\(userField).exec.command")?.stringValue.map { " (command \($0))" } ?? ""
            throw error(.unsupported, "\(userField).exec",
                        "user \"\(name)\" gets its credentials from an exec plugin\(command), which routelet does not run; \(supported)")
        }
        if try present("\(userField).auth-provider") {
            let provider = value("\(userField).auth-provider.name")?.stringValue.map { " \"\($0)\"" } ?? ""
            throw error(.unsupported, "\(userField).auth-provider",
                        "user \"\(name)\" uses the auth provider\(provider), which routelet does not support; \(supported)")
        }
        for field in ["username", "password"] {
            guard try present("\(userField).\(field)") else { continue }
            throw error(.unsupported, "\(userField).\(field)",
                        "user \"\(name)\" uses basic authentication (username and password), which routelet does not support; \(supported)")
        }
        for field in ["as", "as-uid", "as-groups", "as-user-extra"] {
            guard try present("\(userField).\(field)") else { continue }
            throw error(.unsupported, "\(userField).\(field)",
                        "user \"\(name)\" impersonates another user, which routelet does not support; remove the as* fields or give routelet that identity's own credentials")
        }

        if let tokenFile = try string("\(userField).tokenFile") {
            config.token = TokenSource(file: resolved(tokenFile))
        } else if let token = try string("\(userField).token") {
            let field = "\(userField).token"
            config.token = TokenSource(token: try TokenSource.validated(token, field: field, source: source, line: line(of: field)))
        }

        let certificate = try pem(dataField: "\(userField).client-certificate-data", fileField: "\(userField).client-certificate")
        let key = try pem(dataField: "\(userField).client-key-data", fileField: "\(userField).client-key")
        switch (certificate, key) {
        case (.some, nil):
            throw error(.missing, "\(userField).client-key",
                        "is missing; user \"\(name)\" has a client certificate, which needs its private key (client-key or client-key-data)")
        case (nil, .some):
            throw error(.missing, "\(userField).client-certificate",
                        "is missing; user \"\(name)\" has a client key, which needs its certificate (client-certificate or client-certificate-data)")
        default:
            config.clientCertificate = certificate
            config.clientKey = key
        }
    }

    // MARK: Named entries

    /// The names defined in `list` (contexts, clusters, users), for messages.
    private func entryNames(_ list: String) throws(KubeConfigError) -> [String] {
        try entries(list).compactMap { $0.name }
    }

    private func entries(_ list: String) throws(KubeConfigError) -> [(field: String, name: String?)] {
        switch root[list] {
        case nil, .null?:
            return []
        case .array(let elements)?:
            var result: [(field: String, name: String?)] = []
            for (index, element) in elements.enumerated() {
                let field = "\(list)[\(index)]"
                guard case .object = element else {
                    throw error(.malformed, field, "is \(Self.describe(element)); each entry of \(list) is a mapping with a name")
                }
                result.append((field, try string("\(field).name")))
            }
            return result
        case let other?:
            throw error(.malformed, list, "is \(Self.describe(other)), not a list of named entries")
        }
    }

    /// The entry of `list` named `name`, as the field path of its `body`
    /// (e.g. `clusters[1].cluster`). `wantedBy` is the field that named it,
    /// nil for a context chosen by the caller.
    private func entry(named name: String, in list: String, body: String,
                       wantedBy: String?) throws(KubeConfigError) -> String {
        let all = try entries(list)
        let matches = all.enumerated().filter { $0.element.name == name }
        guard let first = matches.first else {
            let defined = "\(list) defined: \(Self.list(all.compactMap(\.name)))"
            if let wantedBy {
                throw error(.unknownName, wantedBy, "names \(body) \"\(name)\", which this kubeconfig does not define (\(defined))")
            }
            throw KubeConfigError(code: .unknownName, source: source,
                                  message: "has no context \"\(name)\" (\(defined))")
        }
        if matches.count > 1 {
            throw error(.invalidValue, "\(list)[\(matches[1].offset)].name",
                        "repeats the name \"\(name)\" of \(list)[\(first.offset)]; names must be unique")
        }
        let field = "\(first.element.field).\(body)"
        switch value(field) {
        case nil, .null?, .object?:
            return field
        case let other?:
            throw error(.malformed, field, "is \(Self.describe(other)), not a mapping")
        }
    }

    // MARK: Fields

    private func value(_ field: String) -> JSONValue? {
        var current: JSONValue? = root
        for component in PathComponent.components(of: field) {
            switch component {
            case .key(let key): current = current?[key]
            case .index(let index): current = current?[index]
            }
        }
        return current
    }

    private func line(of field: String) -> Int {
        document.nearestPosition(of: PathComponent.components(of: field)).line
    }

    private func error(_ code: KubeConfigError.Code, _ field: String, _ message: String) -> KubeConfigError {
        KubeConfigError(code: code, source: source, line: line(of: field), field: field, message: message)
    }

    /// A string field; an empty string counts as unset, as in client-go.
    private func string(_ field: String) throws(KubeConfigError) -> String? {
        switch value(field) {
        case nil, .null?:
            return nil
        case .string(let text)?:
            return text.isEmpty ? nil : text
        case let scalar? where scalar.boolValue != nil || scalar.doubleValue != nil:
            throw error(.invalidValue, field, "is \(Self.describe(scalar)), not a string; put the value in quotes")
        case let other?:
            throw error(.invalidValue, field, "is \(Self.describe(other)), not a string")
        }
    }

    private func bool(_ field: String) throws(KubeConfigError) -> Bool? {
        switch value(field) {
        case nil, .null?: return nil
        case .bool(let flag)?: return flag
        case let other?: throw error(.invalidValue, field, "is \(Self.describe(other)); it must be true or false")
        }
    }

    /// Whether a field holds anything (a mapping, a list, a non-empty string...).
    private func present(_ field: String) throws(KubeConfigError) -> Bool {
        switch value(field) {
        case nil, .null?: return false
        case .string(let text)?: return !text.isEmpty
        case .array(let elements)?: return !elements.isEmpty
        case .object(let members)?: return !members.isEmpty
        default: return true
        }
    }

    /// PEM from a base64 `*-data` field, or else from a file path.
    private func pem(dataField: String, fileField: String) throws(KubeConfigError) -> PEMSource? {
        if let encoded = try string(dataField) {
            // Go's decoder skips line breaks, and YAML folds a wrapped plain
            // scalar into spaces; neither is part of the data.
            let compact = encoded.filter { !$0.isWhitespace }
            guard let data = Data(base64Encoded: compact), !data.isEmpty else {
                throw error(.invalidValue, dataField,
                            "is not valid base64; it holds the PEM file base64-encoded, e.g. the output of `base64 -w0 FILE`")
            }
            guard data.range(of: Data("-----BEGIN ".utf8)) != nil else {
                throw error(.invalidValue, dataField,
                            "decodes to \(data.count) bytes that are not PEM (no \"-----BEGIN\" line); it holds the PEM file base64-encoded")
            }
            return .data(data)
        }
        if let file = try string(fileField) {
            return .file(resolved(file))
        }
        return nil
    }

    /// A path from the kubeconfig, relative ones taken from its directory.
    private func resolved(_ file: String) -> String {
        if file.hasPrefix("/") { return file }
        let relative = file.hasPrefix("./") ? String(file.dropFirst(2)) : file
        let base = directory
        return base.hasSuffix("/") ? base + relative : "\(base)/\(relative)"
    }

    /// The server URL without trailing slashes, or an error unless it is an
    /// absolute http(s) URL with a host.
    private func checkedServer(_ text: String, field: String) throws(KubeConfigError) -> String {
        let example = "write it as https://HOST:PORT, e.g. https://10.0.0.1:6443 or https://[fd00::1]:6443"
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw error(.invalidValue, field, "is \"\(text)\", which is not a URL; \(example)")
        }
        guard scheme == "https" || scheme == "http" else {
            throw error(.invalidValue, field, "is \"\(text)\"; the API server's URL must start with https:// (or http://); \(example)")
        }
        guard let host = components.percentEncodedHost, !host.isEmpty else {
            throw error(.invalidValue, field, "is \"\(text)\", which has no host; \(example)")
        }
        guard components.percentEncodedQuery == nil, components.percentEncodedFragment == nil else {
            throw error(.invalidValue, field, "is \"\(text)\"; the API server's URL cannot have a query or fragment")
        }
        var server = text
        while server.hasSuffix("/") { server.removeLast() }
        return server
    }

    // MARK: Message helpers

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return "the boolean \(flag)"
        case .integer(let number): return "the number \(number)"
        case .double(let number): return "the number \(number)"
        case .string(let text): return "the string \"\(text.prefix(40))\""
        case .array: return "a list"
        case .object: return "a mapping"
        }
    }

    static func list(_ names: [String]) -> String {
        names.isEmpty ? "none" : names.map { "\"\($0)\"" }.joined(separator: ", ")
    }
}

// MARK: - Reading files

/// Reads small local files (kubeconfigs, tokens, certificates) with plain
/// syscalls, so that a failure carries the errno and its text.
enum LocalFile {
    enum Failure: Error, Equatable, CustomStringConvertible {
        case system(operation: String, errno: Int32)
        case tooLarge(limit: Int)

        var description: String {
            switch self {
            case .system(let operation, let code):
                return "\(operation): \(String(cString: strerror(code))) (errno \(code))"
            case .tooLarge(let limit):
                return "the file is larger than \(limit) bytes, too large to be the right file"
            }
        }
    }

    /// The whole file, or an error if it is larger than `limit` bytes (so
    /// that pointing at a huge file, or /dev/zero, cannot exhaust memory).
    static func read(_ path: String, limit: Int) throws(Failure) -> [UInt8] {
        var descriptor: Int32
        var openErrno: Int32 = 0
        repeat {
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            openErrno = errno
        } while descriptor < 0 && openErrno == EINTR
        guard descriptor >= 0 else { throw .system(operation: "open", errno: openErrno) }
        defer { close(descriptor) }

        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            var readErrno: Int32 = 0
            let count = chunk.withUnsafeMutableBytes { buffer in
                let result = systemRead(descriptor, buffer.baseAddress, buffer.count)
                readErrno = errno
                return result
            }
            if count < 0 {
                if readErrno == EINTR { continue }
                throw .system(operation: "read", errno: readErrno)
            }
            if count == 0 { return contents }
            contents.append(contentsOf: chunk[..<count])
            if contents.count > limit { throw .tooLarge(limit: limit) }
        }
    }
}

/// read(2) under a name that the static `LocalFile.read` does not shadow.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
