#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Netlink

@Suite("Dump reply assembly")
struct DumpReplyAssemblerTests {
    func messages(_ bytes: [UInt8]) throws -> [NetlinkMessage] { try NetlinkParser.messages(in: bytes) }

    @Test("Replies are collected across datagrams until NLMSG_DONE")
    func collectsUntilDone() throws {
        var assembler = DumpReplyAssembler(sequence: 7, portID: 99, operation: "dump")
        let first = try messages(Wire.message(type: Wire.rtmNewLink, flags: Wire.nlmFMulti, payload: Wire.linkPayload(index: 1, name: "lo")))
        #expect(try assembler.consume(first) == .needMore)
        let second = try messages(Wire.message(type: Wire.rtmNewLink, flags: Wire.nlmFMulti, payload: Wire.linkPayload(index: 2))
            + Wire.message(type: Wire.nlmsgDone, flags: Wire.nlmFMulti, payload: Wire.native(Int32(0))))
        #expect(try assembler.consume(second) == .complete)
        #expect(assembler.messages.count == 2)
    }

    @Test("Messages with another sequence number or port id are dropped")
    func dropsForeignMessages() throws {
        var assembler = DumpReplyAssembler(sequence: 8, portID: 99, operation: "dump")
        let stale = try messages(Wire.message(type: Wire.rtmNewLink, sequence: 7, payload: Wire.linkPayload())
            + Wire.message(type: Wire.nlmsgDone, sequence: 7, payload: Wire.native(Int32(0)))
            + Wire.message(type: Wire.rtmNewLink, sequence: 8, portID: 5, payload: Wire.linkPayload()))
        #expect(try assembler.consume(stale) == .needMore, "a stale NLMSG_DONE must not end this dump")
        #expect(assembler.messages.isEmpty)
    }

    @Test("NLM_F_DUMP_INTR on any message asks for the dump to be redone")
    func interruptedDump() throws {
        var assembler = DumpReplyAssembler(sequence: 7, portID: 99, operation: "dump")
        let batch = try messages(Wire.message(type: Wire.rtmNewLink, flags: Wire.nlmFMulti | Wire.nlmFDumpIntr, payload: Wire.linkPayload())
            + Wire.message(type: Wire.nlmsgDone, payload: Wire.native(Int32(0))))
        #expect(try assembler.consume(batch) == .interrupted)
    }

    @Test("An NLMSG_ERROR reply ends the dump with the kernel's errno")
    func errorReply() throws {
        var assembler = DumpReplyAssembler(sequence: 7, portID: 99, operation: "RTM_GETLINK dump")
        let batch = try messages(Wire.message(type: Wire.nlmsgError, payload: Wire.errorPayload(-EOPNOTSUPP)))
        #expect(throws: NetlinkError(operation: "RTM_GETLINK dump", errno: EOPNOTSUPP, detail: "kernel answered NLMSG_ERROR")) {
            _ = try assembler.consume(batch)
        }
    }

    @Test("ENOBUFS on the monitor socket counts as a change; EAGAIN ends a drain")
    func monitorReceiveOutcomes() {
        #expect(MonitorReceive.classify(received: -1, errno: ENOBUFS, senderPort: 0) == .overflowed)
        #expect(MonitorReceive.classify(received: -1, errno: EAGAIN, senderPort: 0) == .drained)
        #expect(MonitorReceive.classify(received: 40, errno: 0, senderPort: 0) == .changed)
        #expect(MonitorReceive.classify(received: 40, errno: 0, senderPort: 1234) == .ignored, "only the kernel sends notifications")
        #expect(MonitorReceive.classify(received: -1, errno: EBADF, senderPort: 0)
            == .failed(NetlinkError(operation: "recvfrom (link monitor)", errno: EBADF)))
    }
}
