import Dataplane

/// Everything `routelet agent` is told on its command line.
public struct AgentConfiguration: Sendable {
    /// A directory of RouteTable manifests.
    public var manifestDirectory: String
    public var nodeName: String
    public var nodeLabels: [String: String]
    public var pinDirectory: String
    /// A full pass at least this often, to repair drift.
    public var resyncPeriod: Duration
    /// How often the manifest directory is checked for changes.
    public var manifestPollInterval: Duration
    /// Where the per-table status summary is written (status.json), if anywhere.
    public var stateDirectory: String?

    public init(manifestDirectory: String, nodeName: String, nodeLabels: [String: String] = [:],
                pinDirectory: String = BPFFS.defaultDirectory, resyncPeriod: Duration = .seconds(30),
                manifestPollInterval: Duration = .milliseconds(500), stateDirectory: String? = nil) {
        self.manifestDirectory = manifestDirectory
        self.nodeName = nodeName
        self.nodeLabels = nodeLabels
        self.pinDirectory = pinDirectory
        self.resyncPeriod = resyncPeriod
        self.manifestPollInterval = manifestPollInterval
        self.stateDirectory = stateDirectory
    }
}

/// Exponential backoff with jitter for failed passes: 100 ms doubling up to 1 min.
public struct Backoff: Sendable {
    public var initial: Duration = .milliseconds(100)
    public var maximum: Duration = .seconds(60)
    public private(set) var failures = 0

    public init() {}

    /// The delay before the next attempt, after one more failure.
    public mutating func next() -> Duration {
        failures += 1
        let exponent = min(failures - 1, 20)
        let base = min(initial * (1 << exponent), maximum)
        return base * Double.random(in: 0.8...1.2)
    }

    public mutating func reset() { failures = 0 }
}
