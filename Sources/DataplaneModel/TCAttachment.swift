/// A BPF program attached as routelet's TC filter (clsact ingress, routelet's
/// handle and priority) on one interface.
public struct TCAttachment: Hashable, Sendable {
    public init(ifindex: UInt32, programID: UInt32, programName: String, programTag: String, mapIDs: Set<UInt32>) {
        self.ifindex = ifindex
        self.programID = programID
        self.programName = programName
        self.programTag = programTag
        self.mapIDs = mapIDs
    }

    public var ifindex: UInt32
    public var programID: UInt32
    public var programName: String
    /// The kernel's tag of the program's instructions, as hex.
    public var programTag: String
    /// The ids of the maps the program uses.
    public var mapIDs: Set<UInt32>
}

