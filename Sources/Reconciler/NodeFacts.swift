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

    /// One address of an interface, with its prefix (the on-link subnet).
    public struct InterfaceAddress: Hashable, Sendable {
        public var ifindex: UInt32
        public var address: IPAddress
        public var prefixLength: Int

        public init(ifindex: UInt32, address: IPAddress, prefixLength: Int) {
            self.ifindex = ifindex
            self.address = address
            self.prefixLength = prefixLength
        }
    }

    public var name: String
    public var labels: [String: String]
    /// By name.
    public var links: [String: Link]
    /// Every address of the node, all interfaces: always handed to the kernel.
    public var addresses: Set<IPAddress>
    /// The same addresses with their interface and prefix (empty when the
    /// provider does not know them: then SNAT uses any address of the family).
    public var interfaceAddresses: [InterfaceAddress]
    /// Whether the node's data plane captures header elements of TCP
    /// listeners (the router program with the ring buffer and bpf_loop).
    public var canCaptureHeaders = true

    public init(name: String, labels: [String: String] = [:], links: [Link] = [], addresses: Set<IPAddress> = [],
                interfaceAddresses: [InterfaceAddress] = []) {
        self.name = name
        self.labels = labels
        self.links = Dictionary(links.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.addresses = addresses.union(interfaceAddresses.map(\.address))
        self.interfaceAddresses = interfaceAddresses
    }
}
