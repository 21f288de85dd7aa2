#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CRouteletSys

/// The syscalls shared by the dump socket and the monitor: open and bind a
/// NETLINK_ROUTE socket, send to the kernel, receive whole datagrams.
enum NetlinkDescriptor {
    /// Opens a NETLINK_ROUTE socket in the calling thread's network namespace,
    /// bound to `groups` (RTMGRP_* bits), and returns it with the port id the
    /// kernel assigned. The fd is closed again if any later step fails.
    static func open(groups: UInt32, receiveBufferSize: Int? = nil) throws(NetlinkError) -> (fd: Int32, portID: UInt32) {
        let fd = try checkedSyscall("socket(AF_NETLINK, NETLINK_ROUTE)") {
            socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), NETLINK_ROUTE)
        }
        do {
            if let receiveBufferSize {
                try setReceiveBufferSize(fd, receiveBufferSize)
            }
            var address = sockaddr_nl()
            address.nl_family = sa_family_t(AF_NETLINK)
            address.nl_groups = groups
            _ = try checkedSyscall("bind(AF_NETLINK, groups \(groups))") {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
                    }
                }
            }
            var bound = sockaddr_nl()
            var length = socklen_t(MemoryLayout<sockaddr_nl>.size)
            _ = try checkedSyscall("getsockname(AF_NETLINK)") {
                withUnsafeMutablePointer(to: &bound) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
                }
            }
            return (fd, bound.nl_pid)
        } catch {
            close(fd)
            throw error
        }
    }

    /// Root may exceed net.core.rmem_max with SO_RCVBUFFORCE; others fall
    /// back to SO_RCVBUF, which the kernel silently caps.
    private static func setReceiveBufferSize(_ fd: Int32, _ size: Int) throws(NetlinkError) {
        var value = Int32(clamping: size)
        let length = socklen_t(MemoryLayout<Int32>.size)
        let (_, forceError) = retryingEINTR { setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &value, length) }
        guard forceError != 0 else { return }
        _ = try checkedSyscall("setsockopt(SO_RCVBUF, \(size))") {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, length)
        }
    }

    /// Sends one request datagram to the kernel (port 0).
    static func send(_ fd: Int32, _ bytes: [UInt8], operation: String) throws(NetlinkError) {
        var kernel = sockaddr_nl()
        kernel.nl_family = sa_family_t(AF_NETLINK)
        let sent = try checkedSyscall("sendto (\(operation))") {
            bytes.withUnsafeBytes { raw in
                withUnsafePointer(to: &kernel) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
                    }
                }
            }
        }
        guard sent == bytes.count else {
            throw NetlinkError(operation: "sendto (\(operation))", errno: EMSGSIZE, detail: "sent \(sent) of \(bytes.count) bytes")
        }
    }

    /// Waits until `fd` is readable; throws ETIMEDOUT after `timeoutMilliseconds`.
    static func waitReadable(_ fd: Int32, timeoutMilliseconds: Int32, operation: String) throws(NetlinkError) {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = try checkedSyscall("poll (\(operation))") { poll(&entry, 1, timeoutMilliseconds) }
        guard ready > 0 else {
            throw NetlinkError(operation: "poll (\(operation))", errno: ETIMEDOUT,
                               detail: "no reply within \(timeoutMilliseconds) ms")
        }
    }

    /// Receives one whole datagram into `buffer`, growing it first when the
    /// datagram is larger (MSG_PEEK|MSG_TRUNC reports the real size without
    /// consuming it). Returns the datagram and the sender's port id.
    static func receive(_ fd: Int32, buffer: inout [UInt8], operation: String) throws(NetlinkError) -> (bytes: [UInt8], senderPort: UInt32) {
        let size = try checkedSyscall("recv MSG_PEEK (\(operation))") {
            buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_PEEK | MSG_TRUNC)) }
        }
        if size > buffer.count {
            buffer = [UInt8](repeating: 0, count: size)
        }
        var sender = sockaddr_nl()
        var senderLength = socklen_t(MemoryLayout<sockaddr_nl>.size)
        let received = try checkedSyscall("recvfrom (\(operation))") {
            buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &sender) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, raw.baseAddress, raw.count, 0, $0, &senderLength)
                    }
                }
            }
        }
        return (Array(buffer[0..<min(received, buffer.count)]), sender.nl_pid)
    }
}
