/// routelet's filter on one interface, as the kernel reports it: the one at
/// routelet's handle and priority of clsact ingress.
public struct TCAttachment: Hashable, Sendable {
    public init(ifindex: UInt32, programID: UInt32, program: ProgramDetails? = nil) {
        self.ifindex = ifindex
        self.programID = programID
        self.program = program
    }

    /// What the kernel says about a program it runs.
    public struct ProgramDetails: Hashable, Sendable {
        public var name: String
        /// The kernel's tag of the program's instructions, as hex.
        public var tag: String
        /// The ids of the maps the program uses.
        public var mapIDs: Set<UInt32>

        public init(name: String, tag: String, mapIDs: Set<UInt32>) {
            self.name = name
            self.tag = tag
            self.mapIDs = mapIDs
        }
    }

    public var ifindex: UInt32
    public var programID: UInt32
    /// Nil when the kernel would not say: opening a program by id needs
    /// CAP_SYS_ADMIN, which the agent does not have in a cluster.
    public var program: ProgramDetails?

    /// Whether this is routelet's router, as far as can be told: the program's
    /// name when it is known, else routelet's handle and priority alone.
    public var isRouter: Bool { program.map { $0.name == "rl_router" } ?? true }
}
