import Dataplane

/// Everything `routelet agent` is told on its command line.
public struct AgentConfiguration: Sendable {
    public var nodeName: String
    /// The node's labels when the source does not know them (manifests).
    public var nodeLabels: [String: String]
    public var pinDirectory: String
    /// A full pass at least this often, to repair drift.
    public var resyncPeriod: Duration
    /// Where the per-table status summary is written (status.json), if anywhere.
    public var stateDirectory: String?
    /// Reported in the RouteletNode status.
    public var agentVersion: String

    public init(nodeName: String, nodeLabels: [String: String] = [:], pinDirectory: String = BPFFS.defaultDirectory,
                resyncPeriod: Duration = .seconds(30), stateDirectory: String? = nil, agentVersion: String = "dev") {
        self.nodeName = nodeName
        self.nodeLabels = nodeLabels
        self.pinDirectory = pinDirectory
        self.resyncPeriod = resyncPeriod
        self.stateDirectory = stateDirectory
        self.agentVersion = agentVersion
    }
}

/// Exponential backoff with ±20% jitter; for failed passes 100 ms doubling up to 1 min.
public struct Backoff: Sendable {
    public var initial: Duration
    public var maximum: Duration
    public private(set) var failures = 0

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(60)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay before the next attempt, after one more failure.
    public mutating func next() -> Duration {
        failures += 1
        let exponent = min(failures - 1, 20)
        let base = min(initial * (1 << exponent), maximum)
        return base * Double.random(in: 0.8...1.2)
    }

    public mutating func reset() { failures = 0 }
}
