/// Collects the replies to one dump request, datagram by datagram: a plain
/// value that the socket feeds and whose answer says whether to read more,
/// return the result, or redo the dump.
struct DumpReplyAssembler {
    /// What the reader does next.
    enum Progress: Equatable {
        case needMore
        case complete
        /// The kernel flagged NLM_F_DUMP_INTR: the set changed while being
        /// dumped, so the collected messages may be inconsistent.
        case interrupted
    }

    let sequence: UInt32
    let portID: UInt32
    let operation: String
    private(set) var messages: [NetlinkMessage] = []
    private var sawInterruption = false
    private var finished = false

    init(sequence: UInt32, portID: UInt32, operation: String) {
        self.sequence = sequence
        self.portID = portID
        self.operation = operation
    }

    /// Takes the messages of one datagram. Messages for another request
    /// (a stale sequence number left by an abandoned dump, or another port)
    /// are dropped; kernel errors throw.
    mutating func consume(_ batch: [NetlinkMessage]) throws(NetlinkError) -> Progress {
        for message in batch where !finished {
            guard message.sequence == sequence, message.portID == portID else { continue }
            if message.flags & NetlinkWire.dumpInterrupted != 0 { sawInterruption = true }
            switch try NetlinkParser.classify(message, operation: operation) {
            case .data: messages.append(message)
            case .done: finished = true
            case .acknowledgement, .ignorable: continue
            }
        }
        guard finished else { return .needMore }
        return sawInterruption ? .interrupted : .complete
    }
}
