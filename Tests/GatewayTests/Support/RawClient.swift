import Foundation

/// A blocking HTTP/1.1 client over a plain socket, so that tests can send
/// exactly the bytes they mean (hostile ones too) and see the connection
/// being kept or closed.
final class RawClient {
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]

        var text: String { String(decoding: body, as: UTF8.self) }

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    struct ClientError: Error, CustomStringConvertible {
        var description: String
    }

    private let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var closedByPeer = false

    /// `source`: the local address to connect from (another loopback address is another client).
    init(port: Int, host: String = "127.0.0.1", source: String? = nil, timeout: Double = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError(description: "socket: \(errno)") }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                Glibc.close(fd)
                throw ClientError(description: "bind \(source): \(errno)")
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw ClientError(description: "connect to port \(port): \(String(cString: strerror(code)))")
        }
        setTimeout(timeout)
    }

    deinit { Glibc.close(fd) }

    func setTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw ClientError(description: "send: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// More bytes into the buffer; false at EOF.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        if n == 0 { closedByPeer = true; return false }
        if n < 0 {
            if errno == ECONNRESET { closedByPeer = true; return false }
            throw ClientError(description: "recv: \(String(cString: strerror(errno)))")
        }
        buffer += chunk[..<n]
        return true
    }

    private func line() throws -> String? {
        while true {
            if let i = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<i], as: UTF8.self).trimmingCharacters(in: .init(charactersIn: "\r"))
                buffer.removeFirst(i + 1)
                return line
            }
            guard try fill() else { return nil }
        }
    }

    private func bytes(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            guard try fill() else { throw ClientError(description: "EOF inside a body of \(count) bytes") }
        }
        let out = Array(buffer[..<count])
        buffer.removeFirst(count)
        return out
    }

    /// The next response; nil when the connection closed before one began.
    /// `bodyless`: the request was HEAD. 1xx responses are skipped.
    func readResponse(bodyless: Bool = false) throws -> Response? {
        while true {
            guard let statusLine = try line() else { return nil }
            if statusLine.isEmpty { continue }
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, let status = Int(parts[1]) else { throw ClientError(description: "bad status line \(statusLine)") }
            var headers: [(String, String)] = []
            while let line = try line(), !line.isEmpty {
                guard let colon = line.firstIndex(of: ":") else { throw ClientError(description: "bad header \(line)") }
                headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
            var response = Response(status: status, headers: headers, body: [])
            if (100..<200).contains(status) { continue }
            if bodyless || status == 204 || status == 304 { return response }
            if let length = response.header("content-length").flatMap(Int.init) {
                response.body = try bytes(length)
            } else if response.header("transfer-encoding")?.lowercased().contains("chunked") == true {
                while true {
                    guard let sizeLine = try line(), let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
                        throw ClientError(description: "bad chunk size")
                    }
                    if size == 0 {
                        while let trailer = try line(), !trailer.isEmpty {}
                        break
                    }
                    response.body += try bytes(size)
                    _ = try line()
                }
            } else {
                while try fill() {}
                response.body = buffer
                buffer = []
            }
            return response
        }
    }

    /// One request on the connection, and its response.
    func request(_ method: String = "GET", _ target: String, host: String = "example.com", headers: [(String, String)] = [],
                 body: String? = nil) throws -> Response {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "Content-Length: \(body.utf8.count)\r\n" }
        text += "\r\n" + (body ?? "")
        try send(text)
        guard let response = try readResponse(bodyless: method == "HEAD") else {
            throw ClientError(description: "connection closed before a response to \(method) \(target)")
        }
        return response
    }

    /// Whether the peer closes within `seconds` (reading and dropping anything it sends first).
    func closes(within seconds: Double) -> Bool {
        setTimeout(seconds)
        while true {
            do {
                if try !fill() { return true }
            } catch {
                return false
            }
        }
    }
}

/// `curl` as a person would run it: returns (status, stdout).
func curl(_ arguments: [String]) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = ["-s", "-S"] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// This process's resident set size in KiB, or its peak (`VmHWM`) since the last `resetPeakResident()`.
func residentKiB(peak: Bool = false) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix(peak ? "VmHWM:" : "VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
    return 0
}

/// Makes `VmHWM` start again from the current resident size (Linux: clear_refs 5).
func resetPeakResident() {
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
}
