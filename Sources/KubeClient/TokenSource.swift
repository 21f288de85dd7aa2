import Foundation
import Synchronization

/// The bearer token sent with every API request: either written out (a
/// kubeconfig's `token`) or kept in a file that is re-read from time to
/// time, because the kubelet rotates projected service-account tokens
/// (they expire after about an hour) by replacing the file.
public final class TokenSource: Sendable {
    /// client-go re-reads token files once a minute too; a rotated token is
    /// written well before the old one expires, so a minute-old copy is valid.
    public static let defaultRereadInterval: Duration = .seconds(60)

    /// The largest token file read; a real token is a few kilobytes, so a
    /// bigger file is the wrong file.
    public static let maxFileSize = 1 << 20

    private enum Origin: Sendable {
        case literal(String)
        case file(String)
    }

    private struct CachedToken {
        var token: String
        var readAt: ContinuousClock.Instant
    }

    private let origin: Origin
    /// How long a token read from the file is used before the file is read again.
    public let rereadInterval: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let cache = Mutex<CachedToken?>(nil)

    /// A token written out, e.g. a kubeconfig's `token`. The caller checks
    /// it with ``validated(_:field:source:)`` first (``KubeConfig/parse(_:path:context:)`` does).
    public init(token: String) {
        origin = .literal(token)
        rereadInterval = .zero
        now = { ContinuousClock.now }
    }

    /// A token kept in `file`, read on first use and again once
    /// `rereadInterval` has passed since the last successful read.
    ///
    /// - Parameter now: the clock, replaceable so that tests of re-reading
    ///   need not sleep.
    public init(file: String, rereadInterval: Duration = TokenSource.defaultRereadInterval,
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        origin = .file(file)
        self.rereadInterval = rereadInterval
        self.now = now
    }

    /// The file the token is read from; nil for a token written out.
    public var filePath: String? {
        if case .file(let path) = origin { return path }
        return nil
    }

    /// The token to send now. A failed read is thrown, not papered over
    /// with the previous token: the next call reads the file again, and the
    /// caller's retry (with backoff) covers a file that is being replaced.
    public func current() throws(KubeConfigError) -> String {
        switch origin {
        case .literal(let token):
            return token
        case .file(let path):
            // The lock is held across the read so that concurrent requests
            // after the interval read the file once, not once each.
            return try cache.withLock { (cached: inout CachedToken?) throws(KubeConfigError) -> String in
                let now = self.now()
                if let cached, now < cached.readAt.advanced(by: rereadInterval) {
                    return cached.token
                }
                let token = try Self.read(file: path)
                cached = CachedToken(token: token, readAt: now)
                return token
            }
        }
    }

    private static func read(file path: String) throws(KubeConfigError) -> String {
        let source = "token file \(path)"
        let bytes: [UInt8]
        do {
            bytes = try LocalFile.read(path, limit: maxFileSize)
        } catch {
            throw KubeConfigError(code: .unreadable, source: source,
                                  message: "cannot read the bearer token: \(error); check that the file exists and that routelet may read it")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KubeConfigError(code: .invalidValue, source: source, message: "is not UTF-8 text, so it cannot hold a bearer token")
        }
        return try validated(text, field: nil, source: source)
    }

    /// The token with surrounding whitespace (a trailing newline, typically)
    /// removed, or an error when it is empty or could not be sent in an
    /// `Authorization` header (spaces, control or non-ASCII characters
    /// inside would corrupt the request).
    public static func validated(_ text: String, field: String?, source: String, line: Int? = nil) throws(KubeConfigError) -> String {
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
            throw KubeConfigError(code: .invalidValue, source: source, line: line, field: field,
                                  message: "the bearer token is empty")
        }
        // Printable ASCII only: 0x21 ("!") to 0x7E ("~"). The token itself is
        // never put in a message: it is a secret.
        guard token.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw KubeConfigError(code: .invalidValue, source: source, line: line, field: field,
                                  message: "the bearer token contains spaces, control or non-ASCII characters; a token is a single word of printable ASCII")
        }
        return token
    }
}
