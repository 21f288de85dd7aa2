import Logging
import Netlink
import Reconciler

/// Node facts from rtnetlink in the agent's network namespace: every link
/// (name, ifindex, up, MTU) and every address, re-read in full on each
/// call, with link and address notifications as the change stream.
public struct NetlinkNodeFacts: NodeFactsProvider {
    let logger: Logger

    public init(logger: Logger) throws {
        self.logger = logger
        // Fail at start, not at the first pass, when netlink is unusable.
        _ = try RouteNetlinkSocket()
    }

    public func read() throws -> NodeFacts {
        // A socket per read: dumps are rare (events, resyncs) and this keeps
        // the provider free of shared mutable state.
        let socket = try RouteNetlinkSocket()
        let links = try socket.dumpLinks().map {
            NodeFacts.Link(name: $0.name, ifindex: $0.ifindex, isUp: $0.isUp, mtu: $0.mtu)
        }
        let addresses = try socket.dumpAddresses().map {
            NodeFacts.InterfaceAddress(ifindex: $0.ifindex, address: $0.address, prefixLength: $0.prefixLength)
        }
        return NodeFacts(name: "", links: links, interfaceAddresses: addresses)
    }

    public func changes() -> AsyncStream<Void> {
        AsyncStream { continuation in
            let monitor: LinkMonitor
            do {
                monitor = try LinkMonitor()
            } catch {
                logger.error("no link notifications; changes are seen at the next resync", metadata: ["error": "\(error)"])
                continuation.finish()
                return
            }
            let task = Task { [logger] in
                do {
                    for try await _ in monitor.changes() { continuation.yield() }
                } catch {
                    logger.error("link notifications ended; changes are seen at the next resync", metadata: ["error": "\(error)"])
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in
                task.cancel()
                monitor.stop()
            }
        }
    }
}
