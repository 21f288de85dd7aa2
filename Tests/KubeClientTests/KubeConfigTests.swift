import Foundation
import KubeClient
import NetLab
import Synchronization
import Testing

/// A PEM block; its content is never parsed here, only carried.
private let certificatePEM = """
    -----BEGIN CERTIFICATE-----
    MIIBdzCCAR2gAwIBAgIUKb3iYfQ0dGVzdCBjZXJ0aWZpY2F0ZTAKBggqhkjOPQQDAjAA
    -----END CERTIFICATE-----

    """
private let keyPEM = """
    -----BEGIN EC PRIVATE KEY-----
    MHcCAQEEIHRlc3Qga2V5IG5vdCBhIHJlYWwga2V5IGF0IGFsbCBzb3JyeaAKBggqhkjO
    -----END EC PRIVATE KEY-----

    """
private let certificateBase64 = Data(certificatePEM.utf8).base64EncodedString()
private let keyBase64 = Data(keyPEM.utf8).base64EncodedString()

/// The path the pure parsing tests pretend the kubeconfig was read from.
private let configPath = "/etc/kube/config"

private func parse(_ text: String, path: String = configPath, context: String? = nil) throws(KubeConfigError) -> KubeConfig {
    try KubeConfig.parse(Array(text.utf8), path: path, context: context)
}

/// A fresh directory for one test, removed when the body returns.
private func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kubeconfig-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

private func write(_ text: String, to path: String) throws {
    let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

/// A minimal valid kubeconfig whose only distinguishing mark is its server.
private func kubeconfig(server: String, token: String = "t0ken") -> String {
    """
    apiVersion: v1
    kind: Config
    clusters:
    - name: c
      cluster:
        server: \(server)
    users:
    - name: u
      user:
        token: \(token)
    contexts:
    - name: ctx
      context:
        cluster: c
        user: u
    current-context: ctx

    """
}

@Suite struct KubeConfigParseTests {
    @Test("the kubeconfig the embedded API server writes: CA data and a token")
    func embeddedServerKubeconfig() throws {
        // The shape of APIServer's Credentials.kubeconfig(server:).
        let text = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: routelet
              cluster:
                server: https://127.0.0.1:6443
                certificate-authority-data: \(certificateBase64)
            users:
            - name: routelet-admin
              user:
                token: 8c1f0e2d9b7a4c6e
            contexts:
            - name: routelet
              context:
                cluster: routelet
                user: routelet-admin
            current-context: routelet

            """
        let config = try parse(text)
        #expect(config.server == "https://127.0.0.1:6443")
        #expect(config.certificateAuthority == .data(Data(certificatePEM.utf8)))
        #expect(try config.token?.current() == "8c1f0e2d9b7a4c6e")
        #expect(config.token?.filePath == nil)
        #expect(config.insecureSkipTLSVerify == false)
        #expect(config.tlsServerName == nil)
        #expect(config.clientCertificate == nil && config.clientKey == nil)
        #expect(config.namespace == nil)
        #expect(config.origin == "kubeconfig /etc/kube/config, context routelet")
    }

    @Test("a plain-HTTP server without CA (the embedded server's --insecure-http)")
    func plainHTTP() throws {
        let config = try parse(kubeconfig(server: "http://[::1]:8080/"))
        #expect(config.server == "http://[::1]:8080", "the trailing slash is dropped, the brackets kept")
        #expect(config.certificateAuthority == nil)
    }

    @Test("relative file paths are resolved against the kubeconfig's directory")
    func relativePaths() throws {
        let text = """
            clusters:
            - name: c
              cluster: {server: "https://k8s.example:6443", certificate-authority: certs/ca.crt, tls-server-name: api.internal}
            users:
            - name: u
              user: {client-certificate: ./client.crt, client-key: /secure/client.key, tokenFile: tokens/t}
            contexts:
            - {name: ctx, context: {cluster: c, user: u, namespace: routing}}
            current-context: ctx
            """
        let config = try parse(text)
        #expect(config.certificateAuthority == .file("/etc/kube/certs/ca.crt"))
        #expect(config.clientCertificate == .file("/etc/kube/client.crt"))
        #expect(config.clientKey == .file("/secure/client.key"), "absolute paths stay as they are")
        #expect(config.token?.filePath == "/etc/kube/tokens/t")
        #expect(config.tlsServerName == "api.internal")
        #expect(config.namespace == "routing")

        // A relative kubeconfig path is first made absolute (from the working directory).
        let relative = try parse(text, path: "conf/kubeconfig")
        let cwd = FileManager.default.currentDirectoryPath
        #expect(relative.certificateAuthority == .file("\(cwd)/conf/certs/ca.crt"))
    }

    @Test("client certificate and key data are decoded from base64")
    func clientCertificateData() throws {
        let text = """
            clusters: [{name: c, cluster: {server: "https://10.0.0.1:6443", certificate-authority-data: \(certificateBase64)}}]
            users: [{name: u, user: {client-certificate-data: \(certificateBase64), client-key-data: \(keyBase64)}}]
            contexts: [{name: ctx, context: {cluster: c, user: u}}]
            current-context: ctx
            """
        let config = try parse(text)
        #expect(config.clientCertificate == .data(Data(certificatePEM.utf8)))
        #expect(config.clientKey == .data(Data(keyPEM.utf8)))
        #expect(config.token == nil)
    }

    @Test("base64 wrapped over several lines decodes, and data wins over a file path")
    func wrappedBase64() throws {
        let wrapped = stride(from: 0, to: certificateBase64.count, by: 40).map { offset -> String in
            let start = certificateBase64.index(certificateBase64.startIndex, offsetBy: offset)
            let end = certificateBase64.index(start, offsetBy: 40, limitedBy: certificateBase64.endIndex) ?? certificateBase64.endIndex
            return String(certificateBase64[start..<end])
        }.joined(separator: "\n      ")
        let text = """
            clusters:
            - name: c
              cluster:
                server: https://10.0.0.1:6443
                certificate-authority: ignored.crt
                certificate-authority-data: |
                  \(wrapped)
            contexts: [{name: ctx, context: {cluster: c}}]
            current-context: ctx
            """
        let config = try parse(text)
        #expect(config.certificateAuthority == .data(Data(certificatePEM.utf8)))
        #expect(config.token == nil, "a context without a user connects anonymously")
    }

    @Test("tokenFile takes over from token, as in client-go")
    func tokenFileWins() throws {
        let text = kubeconfig(server: "https://a:6443").replacingOccurrences(of: "token: t0ken", with: "token: t0ken\n    tokenFile: /run/token")
        #expect(try parse(text).token?.filePath == "/run/token")
    }

    @Test("the context argument overrides current-context")
    func contextOverride() throws {
        let text = """
            clusters:
            - {name: staging, cluster: {server: "https://staging:6443"}}
            - {name: prod, cluster: {server: "https://prod:6443", insecure-skip-tls-verify: true}}
            users:
            - {name: dev, user: {token: dev-token}}
            - {name: ops, user: {token: ops-token}}
            contexts:
            - {name: staging, context: {cluster: staging, user: dev}}
            - {name: prod, context: {cluster: prod, user: ops, namespace: kube-system}}
            current-context: staging
            """
        let current = try parse(text)
        #expect(current.server == "https://staging:6443")
        #expect(try current.token?.current() == "dev-token")

        let chosen = try parse(text, context: "prod")
        #expect(chosen.server == "https://prod:6443")
        #expect(try chosen.token?.current() == "ops-token")
        #expect(chosen.namespace == "kube-system")
        #expect(chosen.insecureSkipTLSVerify)
        #expect(chosen.origin == "kubeconfig /etc/kube/config, context prod")
    }

    @Test("insecure-skip-tls-verify together with a CA is accepted (the CA is then unused)")
    func insecureWithCertificateAuthority() throws {
        let text = kubeconfig(server: "https://a:6443").replacingOccurrences(
            of: "server: https://a:6443",
            with: "server: https://a:6443\n    insecure-skip-tls-verify: true\n    certificate-authority-data: \(certificateBase64)")
        let config = try parse(text)
        #expect(config.insecureSkipTLSVerify)
        #expect(config.certificateAuthority == .data(Data(certificatePEM.utf8)))
    }
}

/// One kubeconfig that must be rejected, and what the message must say.
struct InvalidKubeconfig: CustomTestStringConvertible, Sendable {
    var name: String
    var text: String
    var context: String? = nil
    var code: KubeConfigError.Code
    /// Substrings the error's description must contain (besides the path).
    var mentions: [String]
    var testDescription: String { name }
}

private let cluster = "clusters: [{name: c, cluster: {server: \"https://a:6443\"}}]\n"
private let context = "contexts: [{name: ctx, context: {cluster: c, user: u}}]\ncurrent-context: ctx\n"
private func withUser(_ user: String) -> String { cluster + context + "users: [{name: ci, user: {}}, {name: u, user: \(user)}]\n" }
private func withCluster(_ body: String) -> String { "clusters: [{name: c, cluster: \(body)}]\n" + context + "users: [{name: u}]\n" }

private let invalidKubeconfigs: [InvalidKubeconfig] = [
    .init(name: "no current-context", text: cluster + "contexts: [{name: ctx, context: {cluster: c}}]\n",
          code: .missing, mentions: ["current-context", "is not set", "\"ctx\"", "use-context"]),
    .init(name: "current-context names an undefined context", text: cluster + "contexts: [{name: ctx, context: {cluster: c}}]\ncurrent-context: nope\n",
          code: .unknownName, mentions: ["current-context", "context \"nope\"", "\"ctx\""]),
    .init(name: "the context override names an undefined context", text: withUser("{token: x}"), context: "other",
          code: .unknownName, mentions: ["context \"other\"", "contexts defined: \"ctx\""]),
    .init(name: "the context names an undefined cluster", text: "contexts: [{name: ctx, context: {cluster: missing}}]\ncurrent-context: ctx\n" + cluster,
          code: .unknownName, mentions: ["contexts[0].context.cluster", "cluster \"missing\"", "clusters defined: \"c\""]),
    .init(name: "the context names an undefined user", text: cluster + "contexts: [{name: ctx, context: {cluster: c, user: ghost}}]\ncurrent-context: ctx\n",
          code: .unknownName, mentions: ["contexts[0].context.user", "user \"ghost\"", "users defined: none"]),
    .init(name: "the context has no cluster", text: "contexts: [{name: ctx, context: {user: u}}]\ncurrent-context: ctx\n",
          code: .missing, mentions: ["contexts[0].context.cluster", "is missing"]),
    .init(name: "the cluster has no server", text: withCluster("{certificate-authority: ca.crt}"),
          code: .missing, mentions: ["clusters[0].cluster.server", "is missing", "cluster \"c\""]),
    .init(name: "the server is ftp://", text: withCluster("{server: \"ftp://a:21\"}"),
          code: .invalidValue, mentions: ["clusters[0].cluster.server", "ftp://a:21", "https://"]),
    .init(name: "the server has no scheme", text: withCluster("{server: \"localhost:6443\"}"),
          code: .invalidValue, mentions: ["clusters[0].cluster.server", "localhost:6443", "https://"]),
    .init(name: "the server is an IP and port without scheme", text: withCluster("{server: \"10.0.0.1:6443\"}"),
          code: .invalidValue, mentions: ["clusters[0].cluster.server", "10.0.0.1:6443", "https://"]),
    .init(name: "the server has no host", text: withCluster("{server: \"https://\"}"),
          code: .invalidValue, mentions: ["clusters[0].cluster.server", "no host"]),
    .init(name: "the server is a number", text: withCluster("{server: 6443}"),
          code: .invalidValue, mentions: ["clusters[0].cluster.server", "the number 6443", "quotes"]),
    .init(name: "insecure-skip-tls-verify is not a boolean", text: withCluster("{server: \"https://a\", insecure-skip-tls-verify: maybe}"),
          code: .invalidValue, mentions: ["clusters[0].cluster.insecure-skip-tls-verify", "true or false"]),
    .init(name: "certificate-authority-data is not base64", text: withCluster("{server: \"https://a\", certificate-authority-data: \"not*base64!\"}"),
          code: .invalidValue, mentions: ["clusters[0].cluster.certificate-authority-data", "base64"]),
    .init(name: "certificate-authority-data holds no PEM", text: withCluster("{server: \"https://a\", certificate-authority-data: aGVsbG8=}"),
          code: .invalidValue, mentions: ["clusters[0].cluster.certificate-authority-data", "not PEM"]),
    .init(name: "the cluster uses a proxy", text: withCluster("{server: \"https://a\", proxy-url: \"http://proxy:3128\"}"),
          code: .unsupported, mentions: ["clusters[0].cluster.proxy-url", "proxies"]),
    .init(name: "client-key-data is not base64", text: withUser("{client-certificate-data: \(certificateBase64), client-key-data: \"%%%\"}"),
          code: .invalidValue, mentions: ["users[1].user.client-key-data", "base64"]),
    .init(name: "client-certificate-data is not base64", text: withUser("{client-certificate-data: \"ab\", client-key-data: \(keyBase64)}"),
          code: .invalidValue, mentions: ["users[1].user.client-certificate-data", "base64"]),
    .init(name: "an exec credential plugin", text: withUser("{exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}}"),
          code: .unsupported, mentions: ["users[1].user.exec", "user \"u\"", "exec plugin", "command aws", "bearer tokens", "client certificates"]),
    .init(name: "an auth provider", text: withUser("{auth-provider: {name: gcp}}"),
          code: .unsupported, mentions: ["users[1].user.auth-provider", "user \"u\"", "\"gcp\"", "bearer tokens", "client certificates"]),
    .init(name: "basic auth", text: withUser("{username: admin, password: hunter2}"),
          code: .unsupported, mentions: ["users[1].user.username", "basic authentication", "user \"u\""]),
    .init(name: "a password alone", text: withUser("{password: hunter2}"),
          code: .unsupported, mentions: ["users[1].user.password", "basic authentication"]),
    .init(name: "impersonation", text: withUser("{token: x, as: system:admin}"),
          code: .unsupported, mentions: ["users[1].user.as", "impersonates"]),
    .init(name: "a client certificate without key", text: withUser("{client-certificate: c.crt}"),
          code: .missing, mentions: ["users[1].user.client-key", "private key"]),
    .init(name: "a client key without certificate", text: withUser("{client-key-data: \(keyBase64)}"),
          code: .missing, mentions: ["users[1].user.client-certificate", "needs its certificate"]),
    .init(name: "a token with a space inside", text: withUser("{token: \"abc def\"}"),
          code: .invalidValue, mentions: ["users[1].user.token", "spaces"]),
    .init(name: "an empty document", text: "",
          code: .malformed, mentions: ["is empty"]),
    .init(name: "a document of comments only", text: "# nothing here\n---\n",
          code: .malformed, mentions: ["is empty"]),
    .init(name: "a list instead of a mapping", text: "- a\n- b\n",
          code: .malformed, mentions: ["a list", "not a mapping"]),
    .init(name: "a scalar instead of a mapping", text: "just some text\n",
          code: .malformed, mentions: ["the string \"just some text\"", "not a mapping"]),
    .init(name: "two documents", text: kubeconfig(server: "https://a") + "---\n" + kubeconfig(server: "https://b"),
          code: .malformed, mentions: ["2 YAML documents", "line 17"]),
    .init(name: "another kind of object", text: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
          code: .malformed, mentions: ["kind", "\"Pod\""]),
    .init(name: "contexts is not a list", text: cluster + "contexts: ctx\ncurrent-context: ctx\n",
          code: .malformed, mentions: ["contexts", "not a list"]),
    .init(name: "an entry of clusters is not a mapping", text: "clusters: [c]\ncontexts: [{name: ctx, context: {cluster: c}}]\ncurrent-context: ctx\n",
          code: .malformed, mentions: ["clusters[0]", "the string \"c\""]),
    .init(name: "a cluster body is not a mapping", text: withCluster("https://a"),
          code: .malformed, mentions: ["clusters[0].cluster", "not a mapping"]),
    .init(name: "two contexts with the same name", text: cluster + "contexts: [{name: ctx, context: {cluster: c}}, {name: ctx, context: {cluster: c}}]\ncurrent-context: ctx\n",
          code: .invalidValue, mentions: ["contexts[1].name", "repeats the name \"ctx\""]),
    .init(name: "malformed YAML", text: "clusters:\n  - name: c\n    cluster: {server: https://a\ncurrent-context: [\n",
          code: .malformed, mentions: ["not valid YAML", "line "]),
    .init(name: "a tab in the indentation", text: "clusters:\n\t- name: c\n",
          code: .malformed, mentions: ["not valid YAML", "line 2", "cannot start any token"]),
]

@Suite struct KubeConfigErrorTests {
    @Test("invalid kubeconfigs are rejected with a message naming the file and the field", arguments: invalidKubeconfigs)
    func rejected(_ invalid: InvalidKubeconfig) throws {
        let error = #expect(throws: KubeConfigError.self) { try parse(invalid.text, context: invalid.context) }
        guard let error else { return }
        #expect(error.code == invalid.code, "\(error)")
        #expect(error.description.hasPrefix("kubeconfig /etc/kube/config"), "\(error)")
        for text in invalid.mentions {
            #expect(error.description.contains(text), "the message should mention \(text): \(error)")
        }
    }

    @Test("errors point at the line of the field's value")
    func lineNumbers() throws {
        let text = """
            clusters:
            - name: c
              cluster:
                certificate-authority: ca.crt
                server: ftp://a:6443
            users:
            - name: u
              user:
                exec: {command: kubelogin}
            contexts:
            - {name: ctx, context: {cluster: c, user: u}}
            current-context: ctx
            """
        let server = #expect(throws: KubeConfigError.self) { try parse(text) }
        #expect(server?.line == 5, "\(String(describing: server))")
        #expect(server?.description.hasPrefix("kubeconfig /etc/kube/config, line 5, clusters[0].cluster.server: ") == true,
                "\(String(describing: server))")

        let exec = #expect(throws: KubeConfigError.self) {
            try parse(text.replacingOccurrences(of: "ftp://", with: "https://"))
        }
        #expect(exec?.line == 9, "\(String(describing: exec))")
        #expect(exec?.field == "users[0].user.exec")
    }

    @Test("a rejected token is not repeated in the message: it is a secret")
    func tokenNotInMessage() throws {
        let error = #expect(throws: KubeConfigError.self) { try parse(withUser("{token: \"s3cret s3cret\"}")) }
        #expect(error?.description.contains("s3cret") == false, "\(String(describing: error))")
    }

    @Test("garbage bytes give an error, never a crash")
    func garbage() throws {
        var inputs: [[UInt8]] = [
            [0xFF, 0xFE, 0xFD, 0x00],
            [0x00, 0x01, 0x02, 0x03],
            [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00],   // an ELF header
            [0xC3, 0x28],                                                   // invalid UTF-8
            Array("\u{1B}[31m: :\n- [}".utf8),
            Array("{{{{{{{{{{".utf8),
        ]
        var random = SplitMix64(seed: 0x6b75_6265)
        for length in stride(from: 1, through: 400, by: 7) {
            inputs.append((0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        }
        for input in inputs {
            let error = #expect(throws: KubeConfigError.self) { try KubeConfig.parse(input, path: configPath) }
            #expect(error?.description.contains(configPath) == true, "\(String(describing: error))")
        }
    }
}


@Suite struct KubeConfigLoadTests {
    @Test("load reads the file and checks the files it names")
    func loadChecksReferencedFiles() throws {
        try withTemporaryDirectory { directory in
            let text = """
                clusters: [{name: c, cluster: {server: "https://a:6443", certificate-authority: pki/ca.crt}}]
                users: [{name: u, user: {client-certificate: pki/client.crt, client-key: pki/client.key, tokenFile: token}}]
                contexts: [{name: ctx, context: {cluster: c, user: u}}]
                current-context: ctx
                """
            try write(text, to: "\(directory)/kubeconfig")
            try write(certificatePEM, to: "\(directory)/pki/ca.crt")
            try write(certificatePEM, to: "\(directory)/pki/client.crt")
            try write(keyPEM, to: "\(directory)/pki/client.key")
            try write("file-token\n", to: "\(directory)/token")

            let config = try KubeConfig.load(path: "\(directory)/kubeconfig")
            #expect(config.certificateAuthority == .file("\(directory)/pki/ca.crt"))
            #expect(config.clientKey == .file("\(directory)/pki/client.key"))
            #expect(try config.token?.current() == "file-token")

            try FileManager.default.removeItem(atPath: "\(directory)/pki/client.key")
            let error = #expect(throws: KubeConfigError.self) { try KubeConfig.load(path: "\(directory)/kubeconfig") }
            #expect(error?.code == .unreadable)
            #expect(error?.description.contains("client key file \(directory)/pki/client.key") == true, "\(String(describing: error))")
            #expect(error?.description.contains("No such file or directory") == true, "\(String(describing: error))")
        }
    }

    @Test("a missing CA file does not matter when TLS verification is off")
    func insecureIgnoresCertificateAuthorityFile() throws {
        try withTemporaryDirectory { directory in
            try write("""
                clusters: [{name: c, cluster: {server: "https://a", certificate-authority: gone.crt, insecure-skip-tls-verify: true}}]
                contexts: [{name: ctx, context: {cluster: c}}]
                current-context: ctx
                """, to: "\(directory)/kubeconfig")
            #expect(try KubeConfig.load(path: "\(directory)/kubeconfig").insecureSkipTLSVerify)
        }
    }

    @Test("a kubeconfig that cannot be read is named in the error")
    func unreadableKubeconfig() throws {
        try withTemporaryDirectory { directory in
            let missing = #expect(throws: KubeConfigError.self) { try KubeConfig.load(path: "\(directory)/nope") }
            #expect(missing?.description == "kubeconfig \(directory)/nope: cannot be read: open: No such file or directory (errno 2)")
            let isDirectory = #expect(throws: KubeConfigError.self) { try KubeConfig.load(path: directory) }
            #expect(isDirectory?.description.contains("Is a directory") == true, "\(String(describing: isDirectory))")
        }
    }
}

/// A clock the test moves by hand.
private final class ManualClock: Sendable {
    private let instant = Mutex(ContinuousClock.now)
    var now: ContinuousClock.Instant { instant.withLock { $0 } }
    func advance(by duration: Duration) { instant.withLock { $0 = $0.advanced(by: duration) } }
}

@Suite struct TokenSourceTests {
    @Test("a token file is trimmed and re-read only once the interval has passed")
    func rereadAfterInterval() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/token"
            let clock = ManualClock()
            let source = TokenSource(file: path, rereadInterval: .seconds(60), now: { clock.now })
            try write("  first\n", to: path)
            #expect(try source.current() == "first")

            try write("second\n", to: path)
            clock.advance(by: .seconds(59))
            #expect(try source.current() == "first", "within the interval the cached token is used")
            clock.advance(by: .seconds(1))
            #expect(try source.current() == "second", "after the interval the file is read again")
        }
    }

    @Test("with a zero interval every call reads the file")
    func zeroInterval() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/token"
            let source = TokenSource(file: path, rereadInterval: .zero)
            try write("one", to: path)
            #expect(try source.current() == "one")
            try write("two", to: path)
            #expect(try source.current() == "two")
        }
    }

    @Test("a failed read names the file, and is not cached")
    func readFailure() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/token"
            let source = TokenSource(file: path)
            let error = #expect(throws: KubeConfigError.self) { try source.current() }
            #expect(error?.code == .unreadable)
            #expect(error?.description.hasPrefix("token file \(path): cannot read the bearer token: open: No such file or directory") == true,
                    "\(String(describing: error))")
            try write("late\n", to: path)
            #expect(try source.current() == "late")
        }
    }

    @Test("an empty token file is an error")
    func emptyFile() throws {
        try withTemporaryDirectory { directory in
            try write(" \n", to: "\(directory)/token")
            let error = #expect(throws: KubeConfigError.self) { try TokenSource(file: "\(directory)/token").current() }
            #expect(error?.description == "token file \(directory)/token: the bearer token is empty")
        }
    }

    @Test func literalToken() throws {
        let source = TokenSource(token: "abc")
        #expect(try source.current() == "abc")
        #expect(source.filePath == nil)
    }
}

@Suite struct InClusterTests {
    /// A service account directory as the kubelet mounts it.
    private func serviceAccount(in directory: String, namespace: String? = "routing\n") throws -> String {
        let path = "\(directory)/serviceaccount"
        try write("eyJhbGciOiJSUzI1NiJ9.payload.signature\n", to: "\(path)/token")
        try write(certificatePEM, to: "\(path)/ca.crt")
        if let namespace { try write(namespace, to: "\(path)/namespace") }
        return path
    }

    @Test("token, CA and namespace come from the service account directory")
    func serviceAccountFiles() throws {
        try withTemporaryDirectory { directory in
            let account = try serviceAccount(in: directory)
            let config = try KubeConfig.inCluster(
                environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"],
                serviceAccountDirectory: account)
            #expect(config.server == "https://10.96.0.1:443")
            #expect(try config.token?.current() == "eyJhbGciOiJSUzI1NiJ9.payload.signature")
            #expect(config.token?.filePath == "\(account)/token")
            #expect(config.token?.rereadInterval == .seconds(60), "bound tokens rotate, so the file is re-read")
            #expect(config.certificateAuthority == .file("\(account)/ca.crt"))
            #expect(config.namespace == "routing")
            #expect(config.origin == "in-cluster service account")
        }
    }

    @Test("an IPv6 service host is put in brackets")
    func ipv6Host() throws {
        try withTemporaryDirectory { directory in
            let account = try serviceAccount(in: directory)
            for host in ["fd00:10:96::1", "[fd00:10:96::1]"] {
                let config = try KubeConfig.inCluster(
                    environment: ["KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": "6443"],
                    serviceAccountDirectory: account)
                #expect(config.server == "https://[fd00:10:96::1]:6443")
            }
        }
    }

    @Test("POD_NAMESPACE wins over the namespace file; no file means no namespace")
    func namespaceSources() throws {
        try withTemporaryDirectory { directory in
            let account = try serviceAccount(in: directory, namespace: nil)
            var environment = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]
            #expect(try KubeConfig.inCluster(environment: environment, serviceAccountDirectory: account).namespace == nil)
            environment["POD_NAMESPACE"] = "from-env"
            #expect(try KubeConfig.inCluster(environment: environment, serviceAccountDirectory: account).namespace == "from-env")
        }
    }

    @Test("missing variables, a bad port, a missing token or CA are clear errors")
    func failures() throws {
        try withTemporaryDirectory { directory in
            let account = try serviceAccount(in: directory)
            let good = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]

            let noHost = #expect(throws: KubeConfigError.self) {
                try KubeConfig.inCluster(environment: ["KUBERNETES_SERVICE_PORT": "443"], serviceAccountDirectory: account)
            }
            #expect(noHost?.code == .missing)
            #expect(noHost?.description.contains("KUBERNETES_SERVICE_HOST") == true)

            let badPort = #expect(throws: KubeConfigError.self) {
                try KubeConfig.inCluster(environment: good.merging(["KUBERNETES_SERVICE_PORT": "https"]) { $1 },
                                         serviceAccountDirectory: account)
            }
            #expect(badPort?.description == "in-cluster service account, KUBERNETES_SERVICE_PORT: is \"https\", not a port number (1-65535)")

            try FileManager.default.removeItem(atPath: "\(account)/ca.crt")
            let noCA = #expect(throws: KubeConfigError.self) { try KubeConfig.inCluster(environment: good, serviceAccountDirectory: account) }
            #expect(noCA?.description.contains("\(account)/ca.crt") == true, "\(String(describing: noCA))")

            try FileManager.default.removeItem(atPath: "\(account)/token")
            let noToken = #expect(throws: KubeConfigError.self) { try KubeConfig.inCluster(environment: good, serviceAccountDirectory: account) }
            #expect(noToken?.code == .unreadable)
            #expect(noToken?.description.contains("\(account)/token") == true, "\(String(describing: noToken))")
            #expect(noToken?.description.contains("automountServiceAccountToken") == true, "\(String(describing: noToken))")
        }
    }
}

@Suite struct ResolveTests {
    /// Kubeconfigs told apart by their server, a home directory and a service account.
    private struct Layout {
        var root: String
        var explicit: String { "\(root)/explicit.yaml" }
        var first: String { "\(root)/first.yaml" }
        var second: String { "\(root)/second.yaml" }
        var home: String { "\(root)/home" }
        var serviceAccount: String { "\(root)/serviceaccount" }

        init(root: String, homeConfig: Bool = true) throws {
            self.root = root
            try write(kubeconfig(server: "https://explicit:6443"), to: explicit)
            try write(kubeconfig(server: "https://first:6443"), to: first)
            try write(kubeconfig(server: "https://second:6443"), to: second)
            if homeConfig { try write(kubeconfig(server: "https://home:6443"), to: "\(home)/.kube/config") }
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            try write("sa-token", to: "\(serviceAccount)/token")
            try write(certificatePEM, to: "\(serviceAccount)/ca.crt")
        }

        func resolve(_ environment: [String: String], explicitPath: String? = nil) throws(KubeConfigError) -> KubeConfig {
            try KubeConfig.resolve(explicitPath: explicitPath, environment: environment, homeDirectory: home,
                                   serviceAccountDirectory: serviceAccount)
        }
    }

    private let inCluster = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]

    @Test("--kubeconfig wins over $KUBECONFIG, ~/.kube/config and in-cluster")
    func explicitFirst() throws {
        try withTemporaryDirectory { root in
            let layout = try Layout(root: root)
            let config = try layout.resolve(inCluster.merging(["KUBECONFIG": layout.first]) { $1 }, explicitPath: layout.explicit)
            #expect(config.server == "https://explicit:6443")
            #expect(config.origin == "kubeconfig \(layout.explicit), context ctx")
        }
    }

    @Test("a missing --kubeconfig is an error, not a reason to look elsewhere")
    func explicitMissing() throws {
        try withTemporaryDirectory { root in
            let layout = try Layout(root: root)
            let error = #expect(throws: KubeConfigError.self) { try layout.resolve(inCluster, explicitPath: "\(root)/typo.yaml") }
            #expect(error?.description.contains("\(root)/typo.yaml") == true, "\(String(describing: error))")
        }
    }

    @Test("$KUBECONFIG: the first file of the list that exists")
    func kubeconfigVariable() throws {
        try withTemporaryDirectory { root in
            let layout = try Layout(root: root)
            let list = "\(root)/missing.yaml::\(layout.first):\(layout.second)"
            #expect(try layout.resolve(["KUBECONFIG": list]).server == "https://first:6443")
            #expect(try layout.resolve(["KUBECONFIG": layout.second]).server == "https://second:6443")
        }
    }

    @Test("an invalid file in $KUBECONFIG is an error, not skipped")
    func kubeconfigVariableInvalid() throws {
        try withTemporaryDirectory { root in
            let layout = try Layout(root: root)
            try write("- not a kubeconfig\n", to: layout.first)
            let error = #expect(throws: KubeConfigError.self) { try layout.resolve(["KUBECONFIG": layout.first]) }
            #expect(error?.source == "kubeconfig \(layout.first)")
        }
    }

    @Test("~/.kube/config when $KUBECONFIG is unset or names no existing file")
    func homeConfig() throws {
        try withTemporaryDirectory { root in
            let layout = try Layout(root: root)
            #expect(try layout.resolve(inCluster).server == "https://home:6443")
            #expect(try layout.resolve(inCluster.merging(["KUBECONFIG": "\(root)/a:\(root)/b"]) { $1 }).server == "https://home:6443")
        }
    }

    @Test("in-cluster when there is no kubeconfig, and a context override reaches kubeconfigs")
    func inClusterLast() throws {
        try withTemporaryDirectory { root in
            let layout = try Layout(root: root, homeConfig: false)
            let config = try layout.resolve(inCluster)
            #expect(config.server == "https://10.96.0.1:443")
            #expect(config.origin == "in-cluster service account")

            let error = #expect(throws: KubeConfigError.self) {
                try KubeConfig.resolve(explicitPath: layout.first, context: "other", environment: [:], homeDirectory: layout.home)
            }
            #expect(error?.code == .unknownName)
        }
    }

    @Test("nothing found: the error lists every place that was tried")
    func nothingFound() throws {
        try withTemporaryDirectory { root in
            let layout = try Layout(root: root, homeConfig: false)
            let error = #expect(throws: KubeConfigError.self) { try layout.resolve(["KUBECONFIG": "\(root)/gone"]) }
            #expect(error?.code == .notFound)
            for tried in ["--kubeconfig: not given", "$KUBECONFIG: none of \(root)/gone exists",
                          "\(layout.home)/.kube/config: does not exist", "KUBERNETES_SERVICE_HOST is not set"] {
                #expect(error?.description.contains(tried) == true, "should mention \(tried): \(String(describing: error))")
            }
        }
    }
}
