import Foundation
import NetAddress
import Netlink
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Against the running kernel, inside a scratch network namespace. These
/// need root and fail (not skip) without it: CI runs them as root.
@Suite("Netlink against the kernel", .serialized)
struct KernelNetlinkTests {
    static let operStateNames = ["UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"]

    func requireRoot() throws {
        try #require(geteuid() == 0, "kernel tests create network namespaces and must run as root")
    }

    /// A namespace with a veth pair x0/x1 that gets no IPv6 link-local
    /// addresses, so the only changes are the ones a test makes.
    func makeVethNamespace() throws -> ScratchNamespace {
        let namespace = try ScratchNamespace.create()
        do {
            try namespace.ip("link", "add", "x0", "type", "veth", "peer", "name", "x1")
            try namespace.ip("link", "set", "dev", "x0", "addrgenmode", "none")
            try namespace.ip("link", "set", "dev", "x1", "addrgenmode", "none")
        } catch {
            namespace.delete()
            throw error
        }
        return namespace
    }

    @Test("dumpLinks matches `ip -j link` and follows the veth pair going up")
    func dumpLinksMatchesIP() async throws {
        try requireRoot()
        let namespace = try makeVethNamespace()
        defer { namespace.delete() }
        let socket = try namespace.enter { try RouteNetlinkSocket() }

        let links = try socket.dumpLinks()
        #expect(Set(links.map(\.name)) == ["lo", "x0", "x1"])
        let reported = try namespace.ipJSON("link", "show")
        #expect(reported.count == links.count)
        for entry in reported {
            let name = try #require(entry["ifname"] as? String)
            let link = try #require(links.first { $0.name == name }, "dumpLinks lacks \(name)")
            #expect(Int(link.ifindex) == entry["ifindex"] as? Int, "ifindex of \(name)")
            #expect(Int(link.mtu) == entry["mtu"] as? Int, "mtu of \(name)")
            #expect(Self.operStateNames[safe: Int(link.operState)] == entry["operstate"] as? String, "operstate of \(name)")
            #expect(!link.isUp, "\(name) was never set up")
        }

        try namespace.ip("link", "set", "x0", "up")
        let x0Alone = try #require(try socket.dumpLinks().first { $0.name == "x0" })
        #expect(x0Alone.flags & InterfaceFlags.up != 0)
        #expect(!x0Alone.isUp, "a veth end has no carrier while its peer is down")

        try namespace.ip("link", "set", "x1", "up")
        let bothUp = try await eventually(within: .seconds(3)) {
            try socket.dumpLinks().filter { $0.name.hasPrefix("x") && $0.isUp }.count == 2
        }
        let afterUp = try socket.dumpLinks()
        #expect(bothUp, "x0 and x1 should be up once both ends are: \(afterUp)")
        for entry in try namespace.ipJSON("link", "show") where (entry["ifname"] as? String)?.hasPrefix("x") == true {
            let flags = entry["flags"] as? [String] ?? []
            #expect(flags.contains("UP") && flags.contains("LOWER_UP"), "ip agrees: \(entry)")
        }
    }

    @Test("dumpLinks reads a reply spread over many datagrams")
    func dumpLinksMultipart() throws {
        try requireRoot()
        let namespace = try ScratchNamespace.create()
        defer { namespace.delete() }
        // Each RTM_NEWLINK with statistics is over 1 KiB: 150 links need
        // several 32 KiB datagrams. (veth, as CI kernels may lack dummy.)
        try namespace.ipBatch((0..<75).map { "link add a\($0) mtu \(1280 + $0) type veth peer name b\($0)" })
        let socket = try namespace.enter { try RouteNetlinkSocket() }
        let links = try socket.dumpLinks()
        #expect(links.count == 151)
        #expect(Set(links.map(\.ifindex)).count == 151, "every ifindex once")
        for index in 0..<75 {
            #expect(links.first { $0.name == "a\(index)" }?.mtu == UInt32(1280 + index), "mtu of a\(index)")
            #expect(links.contains { $0.name == "b\(index)" }, "b\(index) missing")
        }
    }

    @Test("dumpAddresses returns IPv4 and IPv6 addresses with prefix lengths, as `ip -j addr` does")
    func dumpAddressesMatchesIP() throws {
        try requireRoot()
        let namespace = try makeVethNamespace()
        defer { namespace.delete() }
        let socket = try namespace.enter { try RouteNetlinkSocket() }
        try namespace.ip("link", "set", "x0", "up")
        try namespace.ip("addr", "add", "198.18.5.1/24", "dev", "x0")
        try namespace.ip("-6", "addr", "add", "2001:db8:5::1/64", "dev", "x0", "nodad")

        let x0 = try #require(try socket.dumpLinks().first { $0.name == "x0" })
        let addresses = try socket.dumpAddresses()
        #expect(addresses.contains(AddressInfo(ifindex: x0.ifindex, address: try #require(IPAddress("198.18.5.1")), prefixLength: 24)))
        #expect(addresses.contains(AddressInfo(ifindex: x0.ifindex, address: try #require(IPAddress("2001:db8:5::1")), prefixLength: 64)))

        var reported: Set<AddressInfo> = []
        for entry in try namespace.ipJSON("addr", "show") {
            let index = try #require(entry["ifindex"] as? Int)
            for info in entry["addr_info"] as? [[String: Any]] ?? [] {
                let text = try #require(info["local"] as? String)
                let address = try #require(IPAddress(text))
                let length = try #require(info["prefixlen"] as? Int)
                reported.insert(AddressInfo(ifindex: UInt32(index), address: address, prefixLength: length))
            }
        }
        #expect(Set(addresses) == reported)
    }

    @Test("LinkMonitor reports a link going down and an address being added, and stop() ends it")
    func monitorReportsChanges() async throws {
        try requireRoot()
        let namespace = try makeVethNamespace()
        defer { namespace.delete() }
        try namespace.ip("link", "set", "x0", "up")
        try namespace.ip("link", "set", "x1", "up")
        let descriptorsBefore = netlinkSocketCount()
        let monitor = try namespace.enter { try LinkMonitor() }
        let recorder = ChangeRecorder(monitor.changes())
        #expect(await (try eventually(within: .seconds(2)) { threadNames().contains("routelet-nlmon") }),
                "the reader runs on its own named thread")
        try await recorder.settle()

        var seen = recorder.count
        try namespace.ip("link", "set", "x0", "down")
        #expect(try await eventually(within: .seconds(2)) { recorder.count > seen }, "no change after `link set x0 down`")

        try await recorder.settle()
        seen = recorder.count
        try namespace.ip("addr", "add", "198.18.7.1/24", "dev", "x1")
        #expect(try await eventually(within: .seconds(2)) { recorder.count > seen }, "no change after `addr add`")

        monitor.stop()
        #expect(try await eventually(within: .seconds(2)) { recorder.finished }, "the stream did not end after stop()")
        #expect(recorder.failure == nil)
        #expect(!threadNames().contains("routelet-nlmon"), "the reader thread outlived stop()")
        #expect(netlinkSocketCount() == descriptorsBefore, "stop() left a netlink socket open")
    }

    @Test("A receive queue overflow (ENOBUFS) is still reported as a change")
    func monitorReportsOverflow() async throws {
        try requireRoot()
        let namespace = try makeVethNamespace()
        defer { namespace.delete() }
        // The smallest queue the kernel allows, filled before the reader starts.
        let monitor = try namespace.enter { try LinkMonitor(receiveBufferSize: 1) }
        try namespace.ipBatch((1...200).map { "addr add 198.18.8.\($0)/32 dev x0" })
        let recorder = ChangeRecorder(monitor.changes())
        #expect(try await eventually(within: .seconds(2)) { recorder.count > 0 }, "no change reported after an overflow")
        #expect(try await eventually(within: .seconds(2)) { monitor.overflowCount > 0 }, "200 notifications should overflow the queue")
        monitor.stop()
        #expect(try await eventually(within: .seconds(2)) { recorder.finished })
    }

    @Test("Dropping a LinkMonitor stops its thread and ends its stream")
    func monitorDeinitStopsThread() async throws {
        try requireRoot()
        let namespace = try ScratchNamespace.create()
        defer { namespace.delete() }
        let descriptorsBefore = netlinkSocketCount()
        var monitor: LinkMonitor? = try namespace.enter { try LinkMonitor() }
        let recorder = try ChangeRecorder(#require(monitor).changes())
        #expect(try await eventually(within: .seconds(2)) { threadNames().contains("routelet-nlmon") })
        monitor = nil
        #expect(try await eventually(within: .seconds(2)) { recorder.finished }, "the stream outlived its monitor")
        #expect(!threadNames().contains("routelet-nlmon"), "the reader thread outlived its monitor")
        #expect(netlinkSocketCount() == descriptorsBefore, "deinit left a netlink socket open")
    }

    @Test("Cancelling the consuming task ends the reader thread")
    func cancellationStopsThread() async throws {
        try requireRoot()
        let namespace = try ScratchNamespace.create()
        defer { namespace.delete() }
        let monitor = try namespace.enter { try LinkMonitor() }
        let recorder = ChangeRecorder(monitor.changes())
        #expect(try await eventually(within: .seconds(2)) { threadNames().contains("routelet-nlmon") })
        recorder.cancel()
        #expect(try await eventually(within: .seconds(2)) { recorder.finished })
        #expect(try await eventually(within: .seconds(2)) { !threadNames().contains("routelet-nlmon") },
                "the reader thread kept running after its consumer was cancelled")
        monitor.stop()
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
