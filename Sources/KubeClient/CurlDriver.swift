import CCurl
import Foundation
import Synchronization

/// One HTTP exchange as the driver performs it.
struct HTTPRequest: Sendable {
    var method: String
    var url: String
    var headers: [String] = []
    var body: Data?
    var tls: TLSSettings
    /// The whole exchange must end within this (nil for watches, which the
    /// server ends at their `timeoutSeconds`).
    var timeout: Duration?
    /// Abort when no byte arrives for this long: a watch whose peer went
    /// away without a FIN (a rebooted node, a dropped NAT entry) is noticed.
    var silenceLimit: Duration?
    /// curl's CONNECT_TO entries ("name:port:host:port"): connect elsewhere
    /// than the URL's host, which stays the name TLS verifies.
    var connectTo: [String] = []

    /// "GET https://host/api/v1/nodes", for messages.
    var summary: String { "\(method) \(url)" }
}

/// The TLS side of a connection, from the kubeconfig.
struct TLSSettings: Sendable {
    var certificateAuthority: PEMSource?
    var clientCertificate: PEMSource?
    var clientKey: PEMSource?
    var insecureSkipVerify = false
}

struct HTTPResponse: Sendable {
    var status: Int
    var body: Data
}

/// Where the bytes of a response go: all at once when it ends, or line by
/// line as they arrive (watches).
enum ResponseSink: Sendable {
    case whole(CheckedContinuation<HTTPResponse, any Error>)
    /// `line` is called on the driver thread for every complete line of a
    /// 200 response; `end` once, with nil when the server closed cleanly.
    case lines(line: @Sendable ([UInt8]) -> Void, end: @Sendable (KubeError?) -> Void)
}

/// The one place where libcurl handles live. A single thread owns a multi
/// handle and every easy handle added to it; other threads only hand
/// requests in and cancellations over, through a lock, and wake it up.
/// Connections are pooled by the multi handle and reused across requests.
final class CurlDriver: Sendable {
    static let shared = CurlDriver()

    /// The longest line of a watch stream, and the largest whole response:
    /// a hostile or broken server must not make the agent grow without bound.
    static let maxLineBytes = 64 << 20
    static let maxBodyBytes = 512 << 20

    private struct Inbox {
        var added: [Transfer] = []
        var cancelled: [UInt64] = []
    }

    private let inbox = Mutex(Inbox())
    private let nextID = Atomic<UInt64>(1)
    // The multi handle is used by the driver thread only, except for
    // curl_multi_wakeup, which libcurl documents as callable from any thread.
    private nonisolated(unsafe) let multi: UnsafeMutableRawPointer

    private init() {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        multi = curl_multi_init()!
        let thread = Thread { [self] in loop() }
        thread.name = "routelet-curl"
        thread.start()
    }

    /// Starts `request`; the sink hears of the result. Returns an id for `cancel`.
    @discardableResult
    func start(_ request: HTTPRequest, sink: ResponseSink) -> UInt64 {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let transfer = Transfer(id: id, request: request, sink: sink)
        inbox.withLock { $0.added.append(transfer) }
        curl_multi_wakeup(multi)
        return id
    }

    /// Ends a transfer early; its sink gets a `cancelled` error (a stream's
    /// consumer has usually gone by then).
    func cancel(_ id: UInt64) {
        inbox.withLock { $0.cancelled.append(id) }
        curl_multi_wakeup(multi)
    }

    /// One whole exchange.
    func perform(_ request: HTTPRequest) async throws -> HTTPResponse {
        let id = Mutex<UInt64?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                id.withLock { $0 = start(request, sink: .whole(continuation)) }
            }
        } onCancel: {
            if let started = id.withLock({ $0 }) { cancel(started) }
        }
    }

    private func loop() {
        var active: [UInt64: Transfer] = [:]
        var byHandle: [UnsafeMutableRawPointer: UInt64] = [:]
        while true {
            let inbox = self.inbox.withLock { inbox in
                defer { inbox = Inbox() }
                return inbox
            }
            for transfer in inbox.added {
                if let failure = transfer.configure() {
                    transfer.finish(failure)
                    continue
                }
                curl_multi_add_handle(multi, transfer.handle)
                active[transfer.id] = transfer
                byHandle[transfer.handle] = transfer.id
            }
            func remove(_ id: UInt64, with outcome: Transfer.Outcome) {
                guard let transfer = active.removeValue(forKey: id) else { return }
                byHandle[transfer.handle] = nil
                curl_multi_remove_handle(multi, transfer.handle)
                transfer.finish(outcome)
            }
            for id in inbox.cancelled {
                remove(id, with: .failed(.cancelled))
            }

            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle,
                      let id = byHandle[handle] else { continue }
                remove(id, with: .done(message.pointee.data.result))
            }

            let now = ContinuousClock.now
            for (id, transfer) in active {
                if let limit = transfer.request.silenceLimit, now - transfer.lastActivity > limit {
                    remove(id, with: .failed(.silent(limit)))
                }
            }
            // Sleeps until a socket is ready, libcurl's own next timeout,
            // a wakeup, or a second (for the silence check).
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
    }
}

/// One request in flight: its easy handle, the bytes so far, its sink.
/// Created on any thread, then touched only by the driver thread.
private final class Transfer: @unchecked Sendable {
    enum Failure {
        case cancelled
        case silent(Duration)
        case setup(String)
        case tooLarge(String)
    }

    enum Outcome {
        case done(CURLcode)
        case failed(Failure)
    }

    let id: UInt64
    let request: HTTPRequest
    let sink: ResponseSink
    let handle: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var connectToList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
    private var body: [UInt8] = []
    /// A watch's lines (sink `.lines`, status 200).
    private var framer = LineFramer(maxLineBytes: CurlDriver.maxLineBytes)
    private var status = 0
    /// Set when the write callback stopped the transfer on purpose.
    private var abort: Failure?
    var lastActivity = ContinuousClock.now

    init(id: UInt64, request: HTTPRequest, sink: ResponseSink) {
        self.id = id
        self.request = request
        self.sink = sink
        handle = curl_easy_init()!
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headerList)
        curl_slist_free_all(connectToList)
        errorBuffer.deallocate()
    }

    /// Sets every option; returns a failure when one is refused.
    func configure() -> Outcome? {
        var refused: String?
        func set(_ option: CURLoption, _ name: String, _ result: CURLcode) {
            if result != CURLE_OK, refused == nil { refused = "\(name): \(String(cString: curl_easy_strerror(result)))" }
        }
        set(CURLOPT_URL, "url", rl_curl_setopt_string(handle, CURLOPT_URL, request.url))
        set(CURLOPT_CUSTOMREQUEST, "method", rl_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method))
        if let body = request.body {
            set(CURLOPT_POSTFIELDSIZE_LARGE, "body size", rl_curl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
            let copied = body.withUnsafeBytes { bytes in
                rl_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
            }
            set(CURLOPT_COPYPOSTFIELDS, "body", copied)
        }
        // "Expect:" turns off curl's 100-continue round trip for large bodies.
        for header in request.headers + ["Expect:"] {
            headerList = curl_slist_append(headerList, header)
        }
        set(CURLOPT_HTTPHEADER, "headers", rl_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))
        if !request.connectTo.isEmpty {
            for entry in request.connectTo { connectToList = curl_slist_append(connectToList, entry) }
            set(CURLOPT_CONNECT_TO, "connect to", rl_curl_setopt_slist(handle, CURLOPT_CONNECT_TO, connectToList))
        }
        set(CURLOPT_NOSIGNAL, "nosignal", rl_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        set(CURLOPT_HTTP_VERSION, "http version", rl_curl_setopt_long(handle, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1)))
        set(CURLOPT_CONNECTTIMEOUT_MS, "connect timeout", rl_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, 10_000))
        if let timeout = request.timeout {
            set(CURLOPT_TIMEOUT_MS, "timeout", rl_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(timeout.milliseconds)))
        }
        // Keepalive probes find a dead peer of an idle connection; the
        // silence limit covers a peer that still answers probes but sends nothing.
        set(CURLOPT_TCP_KEEPALIVE, "keepalive", rl_curl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1))
        set(CURLOPT_TCP_KEEPIDLE, "keepalive idle", rl_curl_setopt_long(handle, CURLOPT_TCP_KEEPIDLE, 30))
        set(CURLOPT_TCP_KEEPINTVL, "keepalive interval", rl_curl_setopt_long(handle, CURLOPT_TCP_KEEPINTVL, 10))

        let tls = request.tls
        if tls.insecureSkipVerify {
            set(CURLOPT_SSL_VERIFYPEER, "verify peer", rl_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 0))
            set(CURLOPT_SSL_VERIFYHOST, "verify host", rl_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 0))
        } else if let authority = tls.certificateAuthority {
            set(CURLOPT_CAINFO, "certificate authority", setPEM(authority, file: CURLOPT_CAINFO, blob: CURLOPT_CAINFO_BLOB))
        }
        if let certificate = tls.clientCertificate {
            set(CURLOPT_SSLCERTTYPE, "client certificate type", rl_curl_setopt_string(handle, CURLOPT_SSLCERTTYPE, "PEM"))
            set(CURLOPT_SSLCERT, "client certificate", setPEM(certificate, file: CURLOPT_SSLCERT, blob: CURLOPT_SSLCERT_BLOB))
        }
        if let key = tls.clientKey {
            set(CURLOPT_SSLKEYTYPE, "client key type", rl_curl_setopt_string(handle, CURLOPT_SSLKEYTYPE, "PEM"))
            set(CURLOPT_SSLKEY, "client key", setPEM(key, file: CURLOPT_SSLKEY, blob: CURLOPT_SSLKEY_BLOB))
        }

        set(CURLOPT_ERRORBUFFER, "error buffer", rl_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        set(CURLOPT_WRITEFUNCTION, "write function", rl_curl_setopt_write_function(handle, CURLOPT_WRITEFUNCTION, { data, size, count, context in
            let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
            let length = size * count
            return transfer.received(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
        }))
        set(CURLOPT_WRITEDATA, "write data", rl_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(self).toOpaque()))
        return refused.map { .failed(.setup($0)) }
    }

    private func setPEM(_ source: PEMSource, file: CURLoption, blob: CURLoption) -> CURLcode {
        switch source {
        case .file(let path):
            return rl_curl_setopt_string(handle, file, path)
        case .data(let data):
            return data.withUnsafeBytes { rl_curl_setopt_blob(handle, blob, $0.baseAddress, $0.count) }
        }
    }

    /// Bytes of the response body; false stops the transfer.
    private func received(_ bytes: UnsafeRawBufferPointer) -> Bool {
        lastActivity = .now
        if status == 0 { status = rl_curl_response_code(handle) }
        guard case .lines(let line, _) = sink, status == 200 else {
            body.append(contentsOf: bytes)
            if body.count > CurlDriver.maxBodyBytes {
                abort = .tooLarge("the response is larger than \(CurlDriver.maxBodyBytes) bytes")
                return false
            }
            return true
        }
        guard framer.append(bytes, line: line) else {
            abort = .tooLarge("a watch event is longer than \(CurlDriver.maxLineBytes) bytes")
            return false
        }
        return true
    }

    func finish(_ outcome: Outcome) {
        if status == 0 { status = rl_curl_response_code(handle) }
        let error: KubeError?
        switch outcome {
        case .done(let code) where code == CURLE_OK:
            error = nil
        case .done(let code):
            if let abort {
                error = Self.error(for: abort, request: request)
            } else {
                let detail = String(cString: errorBuffer)
                let text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
                let tls = Self.isTLS(code)
                // OpenSSL's text can be cryptic ("EVP lib" for a signature
                // from another CA with the same name): say where to look.
                let hint = tls ? "TLS handshake failed; check the server certificate against certificate-authority(-data) and the client certificate in the kubeconfig: " : ""
                error = KubeError(request: request.summary, kind: .transport(code: Int(code.rawValue), tls: tls),
                                  message: "\(hint)\(text) (curl error \(code.rawValue))")
            }
        case .failed(let failure):
            error = Self.error(for: failure, request: request)
        }

        switch sink {
        case .whole(let continuation):
            if let error {
                continuation.resume(throwing: error)
            } else {
                continuation.resume(returning: HTTPResponse(status: status, body: Data(body)))
            }
        case .lines(let line, let end):
            if let error {
                end(error)
            } else if status == 200 {
                framer.finish(line: line)
                end(nil)
            } else {
                end(KubeError(request: request.summary, status: status, body: Data(body)))
            }
        }
    }

    private static func error(for failure: Failure, request: HTTPRequest) -> KubeError {
        switch failure {
        case .cancelled:
            KubeError(request: request.summary, kind: .cancelled, message: "cancelled")
        case .silent(let limit):
            KubeError(request: request.summary, kind: .silent, message: "no data for \(limit); the connection is presumed dead")
        case .setup(let message):
            KubeError(request: request.summary, kind: .transport(code: 0, tls: false), message: "cannot set up the request: \(message)")
        case .tooLarge(let message):
            KubeError(request: request.summary, kind: .transport(code: 0, tls: false), message: message)
        }
    }

    private static func isTLS(_ code: CURLcode) -> Bool {
        [CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
         CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ENGINE_NOTFOUND,
         CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS].contains(code)
    }
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
