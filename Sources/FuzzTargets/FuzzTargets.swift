import Agent
import APIServer
import APIStore
import Foundation
import Gateway
import GatewayConfig
import JSONValue
import KubeClient
import Logging
import NetAddress
import Netlink
import NIOCore
import NIOEmbedded
import NIOHTTP1
import RouteletAPI
import Schema
import YAML

/// The parsers of untrusted bytes, one entry point each, for libFuzzer
/// (`make fuzz`, Tests/Fuzz) and for the regression replay in `make test`
/// (Tests/FuzzTests). A target returns normally for every input, refused or
/// not; a crash, a trap or a sanitizer report is the finding.
public enum FuzzTargets {
    public struct Target: Sendable {
        public let name: String
        /// What it reaches, for `make fuzz`'s report.
        public let summary: String
        public let run: @Sendable ([UInt8]) -> Void
    }

    public static let all: [Target] = [
        Target(name: "manifest", summary: "a manifest file as the agent reads it: YAML (or JSON), decoding, validation, line numbers", run: manifest),
        Target(name: "json", summary: "JSONValue: parse, and what parses encodes and parses back to the same value", run: json),
        Target(name: "watch", summary: "a watch response: the line framing, in pieces of any size, and each event", run: watch),
        Target(name: "kubeconfig", summary: "a kubeconfig file", run: kubeconfig),
        Target(name: "netlink", summary: "rtnetlink replies: messages, attributes, links and addresses", run: netlink),
        Target(name: "text", summary: "CIDRs, addresses, label and field selectors, interface patterns", run: text),
        Target(name: "schema", summary: "an object against the CRD schemas (validation, unknown fields, pruning) and the RouteTable and GatewayRoute rules", run: schema),
        Target(name: "apiserver", summary: "a request to the API server's handler (method, path, query, headers, body)", run: apiserver),
        Target(name: "gateway", summary: "HTTP/1 bytes through NIO's decoder to the HTTP gateway's router", run: gateway),
    ]

    public static func target(named name: String) -> Target? { all.first { $0.name == name } }

    // MARK: Targets

    /// First byte: odd reads the rest as a `.json` file, even as YAML.
    static func manifest(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        var scan = ManifestScan()
        ManifestDirectory.read(file: first & 1 == 1 ? "fuzz.json" : "fuzz.yaml", data: Data(bytes.dropFirst()), into: &scan)
    }

    static func json(_ bytes: [UInt8]) {
        guard let value = try? JSONValue(jsonData: Data(bytes)) else { return }
        guard let encoded = try? value.jsonData() else {
            preconditionFailure("a parsed value does not encode: \(value)")
        }
        guard let again = try? JSONValue(jsonData: encoded), again == value else {
            preconditionFailure("\(value) encodes to \(String(decoding: encoded, as: UTF8.self)), which parses to another value")
        }
    }

    /// First byte: the size of the pieces the rest arrives in (1...256).
    static func watch(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let piece = Int(first) + 1
        var framer = LineFramer(maxLineBytes: 4096)
        let body = Array(bytes.dropFirst())
        var lines: [[UInt8]] = []
        var start = 0
        while start < body.count {
            guard framer.append(body[start..<min(start + piece, body.count)], line: { lines.append($0) }) else { break }
            start += piece
        }
        framer.finish { lines.append($0) }
        for line in lines {
            precondition(!line.isEmpty && !line.contains(UInt8(ascii: "\n")), "a framed line is empty or holds a newline")
            if let event = try? WatchEvent(line: line) {
                _ = (event.resourceVersion, event.status, ListWatch.Key(of: event.object))
            }
        }
    }

    static func kubeconfig(_ bytes: [UInt8]) {
        _ = try? KubeConfig.parse(bytes, path: "fuzz-kubeconfig")
    }

    static func netlink(_ bytes: [UInt8]) {
        guard let messages = try? NetlinkParser.messages(in: bytes) else { return }
        for message in messages {
            _ = try? NetlinkParser.classify(message)
            _ = try? NetlinkParser.link(from: message)
            _ = try? NetlinkParser.address(from: message)
            _ = try? NetlinkParser.attributes(in: message.payload)
        }
    }

    /// First byte: which parser takes the rest, as text.
    static func text(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
        switch first % 5 {
        case 0:
            if case .success(let prefix) = IPPrefix.parse(text) {
                precondition(IPPrefix(prefix.description) == prefix, "\(prefix) does not parse back to itself")
            }
        case 1:
            if let address = IPAddress(text) {
                precondition(IPAddress(address.description) == address, "\(address) does not parse back to itself")
            }
        case 2: _ = try? LabelSelector.parse(text)
        case 3: _ = try? FieldSelector.parse(text)
        default: _ = InterfacePattern.parse(text)
        }
    }

    static let customResources: [ResourceType] = (try? APIServerService.customResources()) ?? []

    static func schema(_ bytes: [UInt8]) {
        guard let object = try? JSONValue(jsonData: Data(bytes)) else { return }
        for resource in customResources {
            guard let schema = resource.schema else { continue }
            _ = schema.validate(object)
            _ = schema.unknownFields(in: object)
            _ = schema.validate(schema.pruned(object))
        }
        if let table = try? RouteTable.decode(from: object) { _ = table.validate() }
        if let route = try? GatewayRoute.decode(from: object) { _ = route.validate() }
    }

    /// The server of the apiserver target: one store for the process, in a
    /// temporary file.
    static let server: APIHandler? = {
        let path = NSTemporaryDirectory() + "routelet-fuzz-\(getpid()).db"
        guard let store = try? ObjectStore(path: path, historyLimit: 1_000) else { return nil }
        let registry = Registry(resources: ResourceType.builtins + customResources)
        guard (try? APIServerService.seed(store: store, registry: registry)) != nil else { return nil }
        return APIHandler(registry: registry, store: store, token: "fuzz", serverAddress: "127.0.0.1:6443", logger: Logger(label: "fuzz"))
    }()

    /// The input is a request as text: `METHOD PATH[?QUERY]`, header lines
    /// `name: value`, an empty line, the body. The bearer token is added
    /// unless a header names one.
    static func apiserver(_ bytes: [UInt8]) {
        guard let server else { preconditionFailure("the API server of the fuzz target did not start") }
        let blank = bytes.indices.first { bytes[$0...].starts(with: [10, 10]) }
        let headText = String(decoding: bytes[..<(blank ?? bytes.endIndex)], as: UTF8.self)
        let body = blank.map { Data(bytes[($0 + 2)...]) }
        var lines = headText.split(separator: "\n", omittingEmptySubsequences: false).makeIterator()
        let requestLine = lines.next().map(String.init) ?? ""
        let parts = requestLine.split(separator: " ", maxSplits: 1).map(String.init)
        let target = parts.count > 1 ? parts[1] : "/"
        let pathAndQuery = target.split(separator: "?", maxSplits: 1).map(String.init)
        var query: [String: String] = [:]
        for pair in (pathAndQuery.count > 1 ? pathAndQuery[1] : "").split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { String($0).removingPercentEncoding ?? String($0) }
            query[kv[0]] = kv.count > 1 ? kv[1] : ""
        }
        var headers = ["authorization": "Bearer fuzz"]
        while let line = lines.next() {
            let kv = line.split(separator: ":", maxSplits: 1)
            guard kv.count == 2 else { continue }
            headers[kv[0].lowercased()] = kv[1].trimmingCharacters(in: .whitespaces)
        }
        // A watch would wait for events: the fuzzer asks for lists and single objects.
        query["watch"] = nil
        let request = APIRequest(method: parts.first ?? "GET", path: pathAndQuery.first ?? "/", query: query, headers: headers, body: body)
        let done = DispatchSemaphore(value: 0)
        Task {
            _ = await server.respond(to: request)
            done.signal()
        }
        done.wait()
    }

    static let router = ListenerRouter(listener: HTTPListenerConfig(address: "198.51.100.10", port: 80, routes: [
        HTTPRouteConfig(namespace: "shop", name: "api", createdAt: "2026-01-01T00:00:00Z", hostnames: ["*.example.com", "api.example.org"], rules: [
            HTTPRuleConfig(index: 0, matches: [
                HTTPRequestMatch(path: .init(type: "PathPrefix", value: "/v1"), headers: [.init(name: "x-tenant", value: "a")], method: "GET"),
                HTTPRequestMatch(path: .init(type: "Exact", value: "/login"), queryParams: [.init(name: "next", type: "RegularExpression", value: "^/[a-z]+$")]),
            ], backends: [HTTPBackendConfig(name: "api", weight: 3, endpoints: ["10.0.0.1:80"]), HTTPBackendConfig(name: "canary", weight: 1, endpoints: ["10.0.0.2:80"])]),
            HTTPRuleConfig(index: 1, matches: [HTTPRequestMatch(path: .init(type: "RegularExpression", value: "/img/[0-9]+\\.(png|jpg)"))],
                           backends: [HTTPBackendConfig(name: "images", weight: 1, endpoints: ["10.0.0.3:80"])]),
        ]),
        HTTPRouteConfig(namespace: "shop", name: "catch-all", createdAt: "2026-01-02T00:00:00Z",
                        rules: [HTTPRuleConfig(index: 0, backends: [HTTPBackendConfig(name: "web", weight: 1, endpoints: ["10.0.0.4:80"])])]),
    ]))

    static func gateway(_ bytes: [UInt8]) {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        defer { _ = try? channel.finish() }
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        guard (try? channel.writeInbound(buffer)) != nil else { return }
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            guard case .head(let head) = part else { continue }
            let host = head.headers["host"].first
            _ = router.route(RoutingRequest(method: head.method.rawValue, host: host, target: head.uri, headers: RequestHeaders(headers: head.headers)))
        }
    }
}
