#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CRouteletSys
import Synchronization

/// Tells when any link or IPv4/IPv6 address changed in the network namespace
/// where the monitor was created. Events carry no content: the consumer
/// re-dumps with ``RouteNetlinkSocket`` (level-triggered). Create the monitor
/// before the first dump so no change between the two is missed.
///
/// A dedicated thread (not the Swift cooperative pool) reads the socket,
/// polling every 100 ms and on a wake-up eventfd, so ``stop()`` ends it
/// promptly. Notifications lost to a full receive queue (ENOBUFS) still
/// count as a change.
public final class LinkMonitor: Sendable {
    /// The receive queue asked for by default (SO_RCVBUFFORCE as root).
    public static let defaultReceiveBufferSize = 1 << 20

    private let core: MonitorCore
    private let stream: AsyncThrowingStream<Void, any Error>

    /// Opens a NETLINK_ROUTE socket in the calling thread's network namespace
    /// subscribed to RTMGRP_LINK, RTMGRP_IPV4_IFADDR and RTMGRP_IPV6_IFADDR.
    /// Notifications queue in the socket until ``changes()`` starts the reader.
    public init(receiveBufferSize: Int = LinkMonitor.defaultReceiveBufferSize) throws(NetlinkError) {
        let groups = NetlinkWire.linkGroups | NetlinkWire.ipv4AddressGroups | NetlinkWire.ipv6AddressGroups
        let (socketFD, _) = try NetlinkDescriptor.open(groups: groups, receiveBufferSize: receiveBufferSize)
        let wakeFD = rl_eventfd_nonblock_cloexec()
        let wakeError = errno
        guard wakeFD >= 0 else {
            close(socketFD)
            throw NetlinkError(operation: "eventfd", errno: wakeError)
        }
        // One pending element is enough: every element means "look again".
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let core = MonitorCore(socketFD: socketFD, wakeFD: wakeFD, continuation: continuation)
        continuation.onTermination = { [weak core] _ in core?.requestStop() }
        self.core = core
        self.stream = stream
    }

    deinit {
        stop()
    }

    /// The change events; starts the reader thread on the first call. The
    /// stream finishes after ``stop()``, or when the consuming task is
    /// cancelled, and throws a ``NetlinkError`` if the socket fails.
    /// Meant for one consumer: later calls return the same stream.
    public func changes() -> AsyncThrowingStream<Void, any Error> {
        core.startReader()
        return stream
    }

    /// How many times the kernel dropped notifications because the receive
    /// queue was full (each one was reported as a change).
    public var overflowCount: Int {
        core.overflows.load(ordering: .relaxed)
    }

    /// Ends the stream, waits for the reader thread to exit and closes both
    /// descriptors. Idempotent; safe from any thread.
    public func stop() {
        core.stop()
    }
}

/// The state the reader thread shares with ``LinkMonitor``. The thread holds
/// a reference to this object and not to the monitor, so dropping the
/// monitor runs its deinit, which stops and joins the thread.
final class MonitorCore: Sendable {
    struct Descriptors {
        var socketFD: Int32
        var wakeFD: Int32
        var thread: pthread_t?
        var started = false
    }

    let continuation: AsyncThrowingStream<Void, any Error>.Continuation
    let stopRequested = Atomic<Bool>(false)
    let overflows = Atomic<Int>(0)
    // Descriptors are closed only under this lock and only once the thread
    // has been joined (or never started), so neither the reader nor a
    // concurrent wake-up write can touch a closed (and maybe reused) fd.
    private let descriptors: Mutex<Descriptors>

    init(socketFD: Int32, wakeFD: Int32, continuation: AsyncThrowingStream<Void, any Error>.Continuation) {
        self.continuation = continuation
        self.descriptors = Mutex(Descriptors(socketFD: socketFD, wakeFD: wakeFD))
    }

    deinit {
        closeDescriptors()
    }

    func startReader() {
        let failure: NetlinkError? = descriptors.withLock { state in
            guard !state.started, !stopRequested.load(ordering: .acquiring) else { return nil }
            state.started = true
            let context = Unmanaged.passRetained(self).toOpaque()
            var thread = pthread_t()
            let error = pthread_create(&thread, nil, linkMonitorThreadMain, context)
            guard error == 0 else {
                Unmanaged<MonitorCore>.fromOpaque(context).release()
                return NetlinkError(operation: "pthread_create (link monitor)", errno: error)
            }
            state.thread = thread
            return nil
        }
        // Outside the lock: finishing runs the termination handler, which locks.
        if let failure { continuation.finish(throwing: failure) }
    }

    /// Asks the reader to exit; does not wait. Called from the stream's
    /// termination handler, which may run on the reader thread itself.
    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        descriptors.withLock { state in
            guard state.wakeFD >= 0 else { return }
            var one: UInt64 = 1
            // Non-blocking eventfd: a full counter (EAGAIN) is already a wake-up.
            _ = retryingEINTR { write(state.wakeFD, &one, MemoryLayout<UInt64>.size) }
        }
    }

    func stop() {
        requestStop()
        let joinable: pthread_t? = descriptors.withLock { state in
            // On the reader thread (termination handler): it is about to exit
            // and a later stop() or the deinit joins it.
            guard let thread = state.thread, pthread_equal(thread, pthread_self()) == 0 else { return nil }
            state.thread = nil
            return thread
        }
        if let joinable {
            pthread_join(joinable, nil)
        }
        let readerGone = descriptors.withLock { $0.thread == nil }
        if readerGone {
            closeDescriptors()
            continuation.finish()
        }
    }

    private func closeDescriptors() {
        descriptors.withLock { state in
            if state.socketFD >= 0 { close(state.socketFD); state.socketFD = -1 }
            if state.wakeFD >= 0 { close(state.wakeFD); state.wakeFD = -1 }
        }
    }

    /// The reader thread's loop. The descriptors stay open until it returns.
    func run() {
        _ = "routelet-nlmon".withCString { rl_set_current_thread_name($0) }
        let (socketFD, wakeFD) = descriptors.withLock { ($0.socketFD, $0.wakeFD) }
        var buffer = [UInt8](repeating: 0, count: 32 * 1024)
        var entries = [
            pollfd(fd: socketFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
        ]
        while !stopRequested.load(ordering: .acquiring) {
            let ready = poll(&entries, nfds_t(entries.count), 100)
            let pollError = errno
            if ready < 0 {
                if pollError == EINTR { continue }
                continuation.finish(throwing: NetlinkError(operation: "poll (link monitor)", errno: pollError))
                return
            }
            if ready == 0 || entries[1].revents != 0 { continue }
            do {
                if try drain(socketFD, buffer: &buffer) { continuation.yield(()) }
            } catch {
                continuation.finish(throwing: error)
                return
            }
        }
        continuation.finish()
    }

    /// Reads what is queued without blocking; true if anything changed.
    /// Bounded, so a flood of notifications still yields between batches.
    private func drain(_ fd: Int32, buffer: inout [UInt8]) throws(NetlinkError) -> Bool {
        var changed = false
        for _ in 0..<256 {
            var sender = sockaddr_nl()
            var senderLength = socklen_t(MemoryLayout<sockaddr_nl>.size)
            // MSG_TRUNC: an oversized notification is consumed whole; its
            // content does not matter, only that it arrived.
            let (received, error) = retryingEINTR {
                buffer.withUnsafeMutableBytes { raw in
                    withUnsafeMutablePointer(to: &sender) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            recvfrom(fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT | MSG_TRUNC), $0, &senderLength)
                        }
                    }
                }
            }
            switch MonitorReceive.classify(received: received, errno: error, senderPort: sender.nl_pid) {
            case .changed:
                changed = true
            case .overflowed:
                overflows.add(1, ordering: .relaxed)
                changed = true
            case .ignored:
                continue
            case .drained:
                return changed
            case .failed(let failure):
                throw failure
            }
        }
        return changed
    }
}

/// What one non-blocking receive on the monitor socket means.
enum MonitorReceive: Equatable {
    case changed
    /// ENOBUFS: notifications were dropped, so something changed unseen.
    case overflowed
    /// A datagram not sent by the kernel.
    case ignored
    case drained
    case failed(NetlinkError)

    static func classify(received: Int, errno error: Int32, senderPort: UInt32) -> MonitorReceive {
        if received >= 0 { return senderPort == 0 ? .changed : .ignored }
        switch error {
        case ENOBUFS: return .overflowed
        case EAGAIN, EWOULDBLOCK: return .drained
        default: return .failed(NetlinkError(operation: "recvfrom (link monitor)", errno: error))
        }
    }
}

private func linkMonitorThreadMain(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let context else { return nil }
    let core = Unmanaged<MonitorCore>.fromOpaque(context).takeRetainedValue()
    core.run()
    return nil
}
