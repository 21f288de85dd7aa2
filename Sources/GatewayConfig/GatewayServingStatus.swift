import Foundation

/// What `routelet gateway` serves, written by it next to the snapshot
/// (`gateway-status.json`) after each apply: the agent reports HTTP routes
/// Programmed only once the gateway serves their snapshot version, and
/// `routelet dump` shows it.
public struct GatewayServingStatus: Codable, Hashable, Sendable {
    public var pid: Int32
    /// The snapshot version being served; 0 before the first one.
    public var version: UInt64
    public var listeners: [ListenerStatus]
    /// The last snapshot that could not be applied, when newer than `version`.
    public var snapshotError: String?
    /// RFC 3339.
    public var updatedAt: String

    public struct ListenerStatus: Codable, Hashable, Sendable {
        /// "198.51.100.10:80".
        public var listener: String
        /// Whether its socket is bound and accepting.
        public var bound: Bool
        public var error: String?

        public init(listener: String, bound: Bool, error: String? = nil) {
            self.listener = listener
            self.bound = bound
            self.error = error
        }
    }

    public static let fileName = "gateway-status.json"

    public init(pid: Int32 = getpid(), version: UInt64, listeners: [ListenerStatus], snapshotError: String? = nil,
                updatedAt: String = Date().ISO8601Format()) {
        self.pid = pid
        self.version = version
        self.listeners = listeners
        self.snapshotError = snapshotError
        self.updatedAt = updatedAt
    }

    public static func load(from directory: URL) -> GatewayServingStatus? {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(fileName).path) else { return nil }
        return try? JSONDecoder().decode(GatewayServingStatus.self, from: data)
    }

    public func write(to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try GatewaySnapshot.writeAtomically(try encoder.encode(self), to: directory.appendingPathComponent(Self.fileName))
    }
}
