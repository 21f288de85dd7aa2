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
    /// Where the HTTP gateway's snapshot is written (shared with `routelet
    /// gateway`); nil writes none.
    public var gatewayDirectory: String?
    /// The mark, table and rule priority that hand HTTP/HTTPS listener
    /// traffic to the local gateway.
    public var localDelivery: LocalDeliverySettings
    /// Which build of the router program to load (with header capture when
    /// the kernel can run it, or without).
    public var headerCapture: Dataplane.HeaderCapture

    public init(nodeName: String, nodeLabels: [String: String] = [:], pinDirectory: String = BPFFS.defaultDirectory,
                resyncPeriod: Duration = .seconds(30), stateDirectory: String? = nil, agentVersion: String = "dev",
                gatewayDirectory: String? = nil, localDelivery: LocalDeliverySettings = .default,
                headerCapture: Dataplane.HeaderCapture = .auto) {
        self.nodeName = nodeName
        self.nodeLabels = nodeLabels
        self.pinDirectory = pinDirectory
        self.resyncPeriod = resyncPeriod
        self.stateDirectory = stateDirectory
        self.agentVersion = agentVersion
        self.gatewayDirectory = gatewayDirectory
        self.localDelivery = localDelivery
        self.headerCapture = headerCapture
    }
}
