import CRouteletSys
import Glibc
import Synchronization

/// A loopback TCP proxy between a client under test and a server, which a
/// test switches to refuse or to silently drop traffic to simulate network
/// faults. Bytes pass through unchanged, so TLS goes through end to end.
///
/// One thread ("faulty-proxy") runs a poll loop over the listener, a wake-up
/// eventfd and every connection pair. Sockets are nonblocking and the loop
/// handles events while holding the state lock, so once ``set(_:)`` returns
/// no byte moves under the old mode, and ``stop()`` takes effect at once.
public final class FaultyProxy: Sendable {
    /// What the proxy does with its connections.
    public enum Mode: Sendable {
        /// Forward bytes both ways, half-closes included.
        case forward
        /// Reset (RST) every open connection now; accept new ones and reset
        /// them at once, as a server that went away would.
        case refuse
        /// Keep connections open but forward nothing, either way, like a dead
        /// NAT entry. Bytes that arrive, and bytes read but not yet forwarded
        /// when the mode starts, are dropped, not buffered: after `forward`
        /// the stream resumes with later bytes only. A side that closes
        /// during a blackhole closes its pair, so no descriptor lingers.
        case blackhole
    }

    /// A syscall that failed while setting the proxy up.
    public struct Failure: Error, CustomStringConvertible {
        public var operation: String
        public var code: Int32
        public var reason: String
        public var description: String { "\(operation): \(reason) (\(code))" }

        init(_ operation: String, errno code: Int32) {
            self.init(operation: operation, code: code, reason: String(cString: strerror(code)))
        }

        public init(operation: String, code: Int32, reason: String) {
            self.operation = operation
            self.code = code
            self.reason = reason
        }
    }

    /// The port the proxy listens on, on 127.0.0.1.
    public let port: UInt16
    private let shared: Shared

    /// Listens on 127.0.0.1 at an ephemeral port and forwards every
    /// connection to `targetHost:port`, in ``Mode/forward`` mode.
    public init(target port: UInt16, targetHost: String = "127.0.0.1") throws {
        let target = try TargetAddress(host: targetHost, port: port)
        let (listener, listenPort) = try Self.listenOnLoopback()
        let wake = rl_eventfd_nonblock_cloexec()
        guard wake >= 0 else {
            let code = errno
            _ = close(listener)
            throw Failure("eventfd", errno: code)
        }
        let shared = Shared(listener: listener, wake: wake)
        let body = ThreadBody {
            var loop = Loop(shared: shared, target: target)
            loop.run()
        }
        let context = Unmanaged.passRetained(body).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { context in
            let body = Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue()
            body.run()
            return nil
        }, context)
        guard created == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(context).release()
            _ = close(wake)
            _ = close(listener)
            throw Failure("pthread_create", errno: created)
        }
        shared.state.withLock { $0.thread = thread }
        self.port = listenPort
        self.shared = shared
    }

    deinit { stop() }

    /// Switches the mode; when this returns, the loop applies the new mode
    /// to every byte it moves from then on.
    public func set(_ mode: Mode) {
        shared.state.withLock { state in
            state.mode = mode
            shared.wakeLoop(state)
        }
    }

    /// Connections accepted since the start, refused ones included.
    public var connectionsAccepted: Int { shared.state.withLock { $0.accepted } }

    /// Connection pairs currently open (connecting to the target included).
    public var openConnections: Int { shared.state.withLock { $0.open } }

    /// Closes every connection and the listener and joins the loop thread.
    /// Idempotent; `deinit` calls it too.
    public func stop() {
        let thread = shared.state.withLock { state -> pthread_t? in
            state.stopping = true
            shared.wakeLoop(state)
            defer { state.thread = nil }
            return state.thread
        }
        guard let thread else { return }
        _ = pthread_join(thread, nil)
        shared.state.withLock { state in
            state.closed = true
            // close() is not retried on EINTR: Linux releases the descriptor
            // either way, and a retry could close a reused number.
            _ = close(shared.listener)
            _ = close(shared.wake)
        }
    }

    private static func listenOnLoopback() throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket", errno: errno) }
        do {
            var one: Int32 = 1
            guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                throw Failure("setsockopt SO_REUSEADDR", errno: errno)
            }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = in_addr_t(INADDR_LOOPBACK).bigEndian
            address.sin_port = 0
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else { throw Failure("bind 127.0.0.1:0", errno: errno) }
            guard listen(fd, 128) == 0 else { throw Failure("listen", errno: errno) }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard named == 0 else { throw Failure("getsockname", errno: errno) }
            return (fd, UInt16(bigEndian: address.sin_port))
        } catch {
            _ = close(fd)
            throw error
        }
    }
}

/// What the caller and the loop thread share. The loop captures this, not
/// the proxy, so the proxy's `deinit` can run and stop the loop.
private final class Shared: Sendable {
    struct State: Sendable {
        var mode = FaultyProxy.Mode.forward
        var accepted = 0
        var open = 0
        var stopping = false
        /// Set once the descriptors below are closed; no wake-up after that.
        var closed = false
        var thread: pthread_t?
    }

    let state = Mutex(State())
    let listener: Int32
    let wake: Int32

    init(listener: Int32, wake: Int32) {
        self.listener = listener
        self.wake = wake
    }

    /// Called with the lock held, so the eventfd cannot be closed under it.
    func wakeLoop(_ state: borrowing State) {
        guard !state.closed else { return }
        var one: UInt64 = 1
        // EAGAIN only when the counter is saturated: the loop is awake anyway.
        _ = retryingEINTR { write(wake, &one, MemoryLayout<UInt64>.size) }
    }
}

private final class ThreadBody: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// The resolved target, kept as bytes so it is plainly Sendable.
private struct TargetAddress: Sendable {
    var family: Int32
    var bytes: [UInt8]
    var description: String

    init(host: String, port: UInt16) throws {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw FaultyProxy.Failure(operation: "getaddrinfo \(host):\(port)", code: status,
                                      reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        family = first.pointee.ai_family
        bytes = Array(UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        description = "\(host):\(port)"
    }
}

/// One direction of a pair: at most one chunk read from the source and not
/// yet written to the destination. Reading only when it is empty is the
/// back-pressure: a slow reader stalls its writer through TCP.
private struct Direction {
    static let capacity = 64 * 1024
    var buffer = [UInt8](repeating: 0, count: Direction.capacity)
    var start = 0
    var end = 0
    /// The source sent FIN (read returned 0).
    var sourceEnded = false
    /// The FIN went on to the destination (shutdown SHUT_WR).
    var finSent = false
    var pending: Bool { start < end }

    enum Outcome { case open, failed }

    /// One read (if empty) and one write (if not) without blocking.
    mutating func pump(from source: Int32, to destination: Int32) -> Outcome {
        if !pending && !sourceEnded {
            let count = buffer.withUnsafeMutableBytes { bytes in retryingEINTR { read(source, bytes.baseAddress, bytes.count) } }
            if count > 0 {
                start = 0
                end = count
            } else if count == 0 {
                sourceEnded = true
            } else if !wouldBlock(errno) {
                return .failed
            }
        }
        if pending {
            let written = buffer.withUnsafeBytes { bytes in
                retryingEINTR { send(destination, bytes.baseAddress! + start, end - start, Int32(MSG_NOSIGNAL)) }
            }
            if written >= 0 {
                start += written
            } else if !wouldBlock(errno) {
                return .failed
            }
        }
        if sourceEnded && !pending && !finSent {
            guard shutdown(destination, Int32(SHUT_WR)) == 0 else { return .failed }
            finSent = true
        }
        return .open
    }

    mutating func drop() { start = end }
}

/// An accepted client and its connection to the target.
private struct Pair {
    var client: Int32
    var upstream: Int32
    var connecting: Bool
    var toUpstream = Direction()
    var toClient = Direction()

    enum Outcome { case open, finished, failed }

    /// The poll events wanted on (client, upstream); 0 leaves a descriptor
    /// out of the poll set, so an unrequested POLLHUP cannot spin the loop.
    func events(in mode: FaultyProxy.Mode) -> (client: Int16, upstream: Int16) {
        if connecting { return (0, Int16(POLLOUT)) }
        switch mode {
        case .forward:
            let client = (toUpstream.pending || toUpstream.sourceEnded ? 0 : POLLIN) | (toClient.pending ? POLLOUT : 0)
            let upstream = (toClient.pending || toClient.sourceEnded ? 0 : POLLIN) | (toUpstream.pending ? POLLOUT : 0)
            return (Int16(client), Int16(upstream))
        case .blackhole:
            return (Int16(toUpstream.sourceEnded ? 0 : POLLIN), Int16(toClient.sourceEnded ? 0 : POLLIN))
        case .refuse:
            return (0, 0)
        }
    }

    mutating func handle(in mode: FaultyProxy.Mode, upstreamReady: Bool, scratch: inout [UInt8]) -> Outcome {
        let client = self.client, upstream = self.upstream
        if mode == .refuse { return .failed }
        if connecting {
            guard upstreamReady else { return .open }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(upstream, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 else { return .failed }
            connecting = false
        }
        switch mode {
        case .forward:
            guard toUpstream.pump(from: client, to: upstream) == .open,
                  toClient.pump(from: upstream, to: client) == .open else { return .failed }
            return toUpstream.finSent && toClient.finSent ? .finished : .open
        case .blackhole:
            for (source, ended) in [(client, toUpstream.sourceEnded), (upstream, toClient.sourceEnded)] where !ended {
                let count = scratch.withUnsafeMutableBytes { bytes in retryingEINTR { read(source, bytes.baseAddress, bytes.count) } }
                if count == 0 || (count < 0 && !wouldBlock(errno)) { return .failed }
            }
            return .open
        case .refuse:
            return .failed
        }
    }
}

/// The poll loop; it owns every connection, and only its thread touches them.
private struct Loop {
    let shared: Shared
    let target: TargetAddress
    var pairs: [Pair] = []
    var mode = FaultyProxy.Mode.forward
    /// Set after accept failed for lack of descriptors or memory: the
    /// listener stays readable, so polling it again at once would spin.
    var listenerPausedUntil: ContinuousClock.Instant?
    var scratch = [UInt8](repeating: 0, count: Direction.capacity)

    init(shared: Shared, target: TargetAddress) {
        self.shared = shared
        self.target = target
    }

    mutating func run() {
        _ = rl_set_current_thread_name("faulty-proxy")
        let shared = self.shared
        var fds: [pollfd] = []
        while true {
            let paused = listenerPausedUntil.map { ContinuousClock.now < $0 } ?? false
            if !paused { listenerPausedUntil = nil }
            fds.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: shared.wake, events: Int16(POLLIN), revents: 0))
            fds.append(pollfd(fd: paused ? -1 : shared.listener, events: Int16(POLLIN), revents: 0))
            for pair in pairs {
                let events = pair.events(in: mode)
                fds.append(pollfd(fd: events.client == 0 ? -1 : pair.client, events: events.client, revents: 0))
                fds.append(pollfd(fd: events.upstream == 0 ? -1 : pair.upstream, events: events.upstream, revents: 0))
            }
            if poll(&fds, nfds_t(fds.count), paused ? 50 : -1) < 0 {
                // EINTR: go round. Anything else (ENOMEM) is transient at
                // best; wait a little rather than spin.
                if errno != EINTR { usleep(10_000) }
                continue
            }
            if fds[0].revents != 0 {
                var count: UInt64 = 0
                _ = retryingEINTR { read(shared.wake, &count, MemoryLayout<UInt64>.size) }
            }
            let running = shared.state.withLock { state -> Bool in
                guard !state.stopping else { return false }
                handleEvents(fds, newMode: state.mode)
                if fds[1].revents != 0 { acceptPending(&state) }
                state.open = pairs.count
                return true
            }
            if !running { break }
        }
        for pair in pairs { Self.close(pair, abortively: true) }
        pairs.removeAll()
        shared.state.withLock { $0.open = 0 }
    }

    private mutating func handleEvents(_ fds: [pollfd], newMode: FaultyProxy.Mode) {
        let changed = newMode != mode
        mode = newMode
        if changed && mode == .blackhole {
            for index in pairs.indices {
                pairs[index].toUpstream.drop()
                pairs[index].toClient.drop()
            }
        }
        var kept: [Pair] = []
        kept.reserveCapacity(pairs.count)
        for (index, var pair) in pairs.enumerated() {
            let clientEvents = fds[2 + 2 * index].revents, upstreamEvents = fds[3 + 2 * index].revents
            var outcome = Pair.Outcome.open
            if clientEvents != 0 || upstreamEvents != 0 || changed {
                outcome = pair.handle(in: mode, upstreamReady: upstreamEvents != 0, scratch: &scratch)
            }
            switch outcome {
            case .open: kept.append(pair)
            case .finished: Self.close(pair, abortively: false)
            case .failed: Self.close(pair, abortively: true)
            }
        }
        pairs = kept
    }

    private mutating func acceptPending(_ state: inout Shared.State) {
        while true {
            // accept4 with SOCK_CLOEXEC: a concurrent fork+exec (tests run
            // kubectl) must not inherit the socket and keep a "closed" connection open.
            let client = retryingEINTR { rl_accept_nonblock_cloexec(shared.listener) }
            if client < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK: return
                case ECONNABORTED, EPROTO: continue
                default:
                    listenerPausedUntil = .now + .milliseconds(50)
                    return
                }
            }
            state.accepted += 1
            guard mode != .refuse, let pair = connect(client) else {
                Self.closeAbortively(client)
                continue
            }
            pairs.append(pair)
        }
    }

    /// Starts a nonblocking connect to the target; nil when it failed at once
    /// (target down: ECONNREFUSED).
    private func connect(_ client: Int32) -> Pair? {
        let upstream = socket(target.family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard upstream >= 0 else { return nil }
        Self.setNoDelay(client)
        Self.setNoDelay(upstream)
        let result = target.bytes.withUnsafeBytes {
            Glibc.connect(upstream, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        // A connect interrupted by a signal goes on in the background, like EINPROGRESS.
        if result == 0 || errno == EINPROGRESS || errno == EINTR {
            return Pair(client: client, upstream: upstream, connecting: result != 0)
        }
        _ = Glibc.close(upstream)
        return nil
    }

    /// Nagle on the proxy's sockets would add delays the direct path has not.
    private static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private static func close(_ pair: Pair, abortively: Bool) {
        if abortively {
            closeAbortively(pair.client)
            closeAbortively(pair.upstream)
        } else {
            _ = Glibc.close(pair.client)
            _ = Glibc.close(pair.upstream)
        }
    }

    /// SO_LINGER 0: the peer gets RST ("connection reset"), not FIN.
    private static func closeAbortively(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        _ = Glibc.close(fd)
    }
}

private func wouldBlock(_ code: Int32) -> Bool { code == EAGAIN || code == EWOULDBLOCK }

/// Runs a syscall again while it fails with EINTR; errno is left as the
/// last attempt set it.
private func retryingEINTR<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result >= 0 || errno != EINTR { return result }
    }
}
