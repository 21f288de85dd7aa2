import NIOHTTP1

/// The header rewriting of a hop: hop-by-hop headers removed both ways,
/// X-Forwarded-For / X-Forwarded-Proto / Forwarded added toward the backend.
enum ProxyHeaders {
    /// RFC 9110 §7.6.1, plus the Proxy-* family and Keep-Alive that HTTP/1.0 peers send.
    static let hopByHop = ["connection", "keep-alive", "te", "trailer", "upgrade", "proxy-connection"]

    /// Removes the hop-by-hop headers and every header that `Connection` names.
    /// Runs twice per request, so it compares names in place rather than
    /// lowercasing each one.
    static func removeHopByHop(_ headers: inout HTTPHeaders) {
        let named = headers[canonicalForm: "connection"]
        var doomed: [String] = []
        for (name, _) in headers {
            let hop = hopByHop.contains { equalsIgnoringCase($0, name) } || hasPrefixIgnoringCase(name, "proxy-")
                || named.contains { equalsIgnoringCase($0, name) }
            if hop, !doomed.contains(where: { equalsIgnoringCase($0, name) }) { doomed.append(name) }
        }
        for name in doomed {
            headers.remove(name: name)
        }
    }

    /// ASCII case-insensitive equality: header names are ASCII tokens.
    static func equalsIgnoringCase(_ a: some StringProtocol, _ b: some StringProtocol) -> Bool {
        a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).allSatisfy { lowered($0) == lowered($1) }
    }

    /// `prefix` is lowercase.
    static func hasPrefixIgnoringCase(_ value: String, _ prefix: StaticString) -> Bool {
        let prefixBytes = UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        return value.utf8.count >= prefixBytes.count && zip(value.utf8, prefixBytes).allSatisfy { lowered($0) == $1 }
    }

    private static func lowered(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }

    /// The request head as the backend gets it. `client` is the client's
    /// address without port; `proto` "http" or "https".
    static func upstreamRequestHead(_ head: HTTPRequestHead, client: String, proto: String) -> HTTPRequestHead {
        var upstream = head
        upstream.version = .http1_1
        removeHopByHop(&upstream.headers)

        let forwardedFor = head.headers["x-forwarded-for"]
        upstream.headers.remove(name: "x-forwarded-for")
        upstream.headers.add(name: "X-Forwarded-For", value: (forwardedFor + [client]).joined(separator: ", "))
        upstream.headers.replaceOrAdd(name: "X-Forwarded-Proto", value: proto)

        var element = "for=\(forwardedNode(client));proto=\(proto)"
        if let host = head.headers.first(name: "host") {
            element += ";host=\(forwardedValue(host))"
        }
        let forwarded = head.headers["forwarded"]
        upstream.headers.remove(name: "forwarded")
        upstream.headers.add(name: "Forwarded", value: (forwarded + [element]).joined(separator: ", "))

        // A request without framing headers has no body (RFC 9112 §6.3); say so,
        // or NIO's encoder would frame a POST without them as chunked.
        if !upstream.headers.contains(name: "content-length"), !upstream.headers.contains(name: "transfer-encoding"),
           head.method == .POST || head.method == .PUT || head.method == .PATCH {
            upstream.headers.add(name: "Content-Length", value: "0")
        }
        return upstream
    }

    /// The response head as the client gets it.
    static func clientResponseHead(_ head: HTTPResponseHead, requestVersion: HTTPVersion, keepAlive: Bool) -> HTTPResponseHead {
        var response = head
        removeHopByHop(&response.headers)
        if requestVersion == .http1_0 {
            response.version = .http1_0
            if keepAlive { response.headers.add(name: "Connection", value: "keep-alive") }
        } else {
            response.version = .http1_1
            if !keepAlive { response.headers.add(name: "Connection", value: "close") }
        }
        return response
    }

    /// RFC 7239 §6: an IPv6 node is quoted and bracketed.
    static func forwardedNode(_ address: String) -> String {
        address.utf8.contains(UInt8(ascii: ":")) ? "\"[\(address)]\"" : address
    }

    /// RFC 9110 §5.6.2 tchar, indexed by byte.
    private static let tokenBytes: [Bool] = (0...255).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case let other:
            "!#$%&'*+-.^_`|~".utf8.contains(other)
        }
    }

    /// A token stays as it is; anything else becomes a quoted string.
    static func forwardedValue(_ value: String) -> String {
        let isToken = !value.isEmpty && value.utf8.allSatisfy { tokenBytes[Int($0)] }
        if isToken { return value }
        var quoted = "\""
        for character in value {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "\""
    }
}
