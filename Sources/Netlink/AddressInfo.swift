import NetAddress

/// One interface address as reported by RTM_NEWADDR.
public struct AddressInfo: Hashable, Sendable {
    /// The interface the address is assigned to (ifa_index).
    public var ifindex: UInt32
    /// IFA_LOCAL when present (the local end of a point-to-point link), else IFA_ADDRESS.
    public var address: IPAddress
    /// ifa_prefixlen, at most 32 for IPv4 and 128 for IPv6.
    public var prefixLength: Int

    public init(ifindex: UInt32, address: IPAddress, prefixLength: Int) {
        self.ifindex = ifindex
        self.address = address
        self.prefixLength = prefixLength
    }
}
