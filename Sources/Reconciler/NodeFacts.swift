import NetAddress

/// What compile needs to know about the node: its name and labels, its
/// interfaces and its own addresses (kept current from rtnetlink).
public struct NodeFacts: Hashable, Sendable {
    /// One network interface as the kernel reports it.
    public struct Link: Hashable, Sendable {
        public var name: String
        public var ifindex: UInt32
        /// Administratively up and with carrier.
        public var isUp: Bool
        public var mtu: UInt32

        public init(name: String, ifindex: UInt32, isUp: Bool, mtu: UInt32 = 1500) {
            self.name = name
            self.ifindex = ifindex
            self.isUp = isUp
            self.mtu = mtu
        }
    }

    public var name: String
    public var labels: [String: String]
    /// By name.
    public var links: [String: Link]
    /// Every address of the node, all interfaces: always handed to the kernel.
    public var addresses: Set<IPAddress>

    public init(name: String, labels: [String: String] = [:], links: [Link] = [], addresses: Set<IPAddress> = []) {
        self.name = name
        self.labels = labels
        self.links = Dictionary(links.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.addresses = addresses
    }
}
