import NIOHTTP1

/// The header rewriting of a hop: hop-by-hop headers removed both ways,
/// X-Forwarded-For / X-Forwarded-Proto / Forwarded added toward the backend.
enum ProxyHeaders {
    /// RFC 9110 §7.6.1, plus the Proxy-* family and Keep-Alive that HTTP/1.0 peers send.
    static let hopByHop: Set<String> = ["connection", "keep-alive", "te", "trailer", "upgrade", "proxy-connection"]

    /// Removes the hop-by-hop headers and every header that `Connection` names.
    static func removeHopByHop(_ headers: inout HTTPHeaders) {
        var named: Set<String> = []
        for value in headers[canonicalForm: "connection"] {
            named.insert(value.lowercased())
        }
        var names: Set<String> = []
        for (name, _) in headers {
            let lower = name.lowercased()
            if hopByHop.contains(lower) || named.contains(lower) || lower.hasPrefix("proxy-") {
                names.insert(lower)
            }
        }
        for name in names {
            headers.remove(name: name)
        }
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
        address.contains(":") ? "\"[\(address)]\"" : address
    }

    /// A token stays as it is; anything else becomes a quoted string.
    static func forwardedValue(_ value: String) -> String {
        let isToken = !value.isEmpty && value.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            default:
                "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
        if isToken { return value }
        var quoted = "\""
        for character in value {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "\""
    }
}
