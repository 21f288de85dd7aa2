import Agent
import ArgumentParser
import Dataplane
import Foundation
import GatewayConfig
import Netlink

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the actual data plane: interfaces and their tables, routes, next hops, gateway listeners and backends, counters.",
        discussion: "Reads the kernel (pinned maps, TC filters), not what an agent believes it wrote."
    )

    @OptionGroup var dataplane: DataplaneOptions

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    @Option(name: .shortAndLong, help: "Output format: table or json.")
    var output: Format = .table

    @Option(help: "Where the agent writes its per-table status (shown when present).")
    var stateDir = "/run/routelet"

    @Option(help: ArgumentHelp("The gateway's snapshot directory: what `routelet gateway` serves is shown when present (default: <state-dir>/gateway).", valueName: "dir"))
    var gatewayDir: String?

    func run() throws {
        try dataplane.enterNamespace()
        let maps = try RouterMaps.openPinned(directory: dataplane.bpffsDirectory)
        let gateway = try GatewayMaps.openPinned(directory: dataplane.bpffsDirectory, router: maps)
        let state = try DataplaneState.read(maps: maps, gateway: gateway, gatewayCounters: true)
        var report = DataplaneReport(state: state, abiVersion: try maps.abiVersion(), names: Interfaces.all())
            .withGateway(state.gateway, conntrack: try gateway.conntrackEntries(), rateBuckets: try gateway.rateBucketCount())
        report.gatewayMark = state.gatewayMark?.description
        report.headerCapture = gateway.hasCaptureRing
        report.localDelivery = try LocalDeliveryNetlink.read(table: LocalDeliverySettings.default.table, socket: RouteNetlinkSocket())
            .description
        let status = StatusReport.read(from: stateDir)
        let directory = URL(fileURLWithPath: gatewayDir ?? (stateDir as NSString).appendingPathComponent("gateway"))
        let http = try GatewaySnapshot.load(from: directory).map { HTTPGatewayDump(snapshot: $0, serving: GatewayServingStatus.load(from: directory)) }
        switch output {
        case .table:
            print(report.rendered(), terminator: "")
            if let http, !http.snapshot.listeners.isEmpty || http.serving != nil { print("\n" + http.rendered(), terminator: "") }
            if let status { print("\n" + status.rendered(), terminator: "") }
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(DumpOutput(dataplane: report, agent: status, http: http)), as: UTF8.self))
        }
    }
}

/// `routelet dump -o json`: the kernel's state, and the agent's status when present.
struct DumpOutput: Codable {
    var dataplane: DataplaneReport
    var agent: StatusReport?
    var http: HTTPGatewayDump?
}

/// What the HTTP gateway is told to serve (the snapshot) and what it serves.
struct HTTPGatewayDump: Codable {
    var snapshot: GatewaySnapshot
    var serving: GatewayServingStatus?

    func rendered() -> String {
        var lines: [String] = []
        if let serving {
            let state = serving.version == snapshot.version ? "serves it" : "serves version \(serving.version)"
            lines.append("HTTP gateway: snapshot version \(snapshot.version); routelet gateway (pid \(serving.pid)) \(state)")
            if let error = serving.snapshotError { lines.append("  last snapshot refused: \(error)") }
        } else {
            lines.append("HTTP gateway: snapshot version \(snapshot.version); no routelet gateway has reported serving it")
        }
        for listener in snapshot.listeners {
            let bound = serving?.listeners.first { $0.listener == listener.hostPort }
            let state = bound.map { $0.bound ? "bound" : "NOT BOUND: \($0.error ?? "unknown error")" } ?? "-"
            lines.append("  \(listener.hostPort)/\(listener.protocol)  \(state)")
            for route in listener.routes {
                let hosts = route.hostnames.isEmpty ? "any host" : route.hostnames.joined(separator: ",")
                let log = route.accessLogHeaders.isEmpty ? "" : "  log \(route.accessLogHeaders.joined(separator: ","))"
                lines.append("    \(route.namespace)/\(route.name)  \(hosts)\(log)")
                for rule in route.rules {
                    let matches = rule.matches.isEmpty ? "every request" : rule.matches.map(Self.describe).joined(separator: " | ")
                    let backends = rule.backends.map { backend -> String in
                        let endpoints = backend.resolved ? "\(backend.endpoints.count) ready" : "unresolved"
                        return "\(backend.name) w\(backend.weight) (\(endpoints))"
                    }.joined(separator: ", ")
                    lines.append("      rule \(rule.index): \(matches) -> \(backends)")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func describe(_ match: HTTPRequestMatch) -> String {
        var parts: [String] = []
        if let method = match.method { parts.append(method) }
        if let path = match.path { parts.append("\(path.type) \(path.value)") }
        parts += match.headers.map { "\($0.name)\($0.type == "Exact" ? "=" : "~")\($0.value)" }
        parts += match.queryParams.map { "?\($0.name)\($0.type == "Exact" ? "=" : "~")\($0.value)" }
        return parts.isEmpty ? "every request" : parts.joined(separator: " ")
    }
}

struct CleanupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup",
        abstract: "Detach routelet's TC filters, unpin its maps, remove its policy rules and routes, and stop its gateway; nothing else.",
        discussion: """
            Filters, and the policy rules and local routes that deliver HTTP/HTTPS listener traffic to \
            `routelet gateway` (those tagged with protocol \(LocalDeliverySettings.protocolNumber)), are removed \
            in the current (or --netns) network namespace only. Traffic on those interfaces goes back to \
            the kernel's own routing. The `routelet gateway` serving --gateway-dir (started by an agent \
            with --gateway child) is stopped: SIGTERM, then SIGKILL after 10 s.
            """
    )

    @OptionGroup var dataplane: DataplaneOptions

    @Option(help: ArgumentHelp("The snapshot directory of the gateway to stop.", valueName: "dir"))
    var gatewayDir = "/run/routelet/gateway"

    func run() throws {
        try dataplane.enterNamespace()
        let report = try Cleanup.run(pinDirectory: dataplane.bpffsDirectory)
        print("detached from: \(report.detached.isEmpty ? "(no interface)" : report.detached.joined(separator: ", "))")
        print("unpinned: \(report.unpinned.isEmpty ? "(nothing)" : report.unpinned.joined(separator: ", "))")
        // After the filters: no packet is marked any more when the rules go.
        let removed = try LocalDeliveryNetlink.remove(table: LocalDeliverySettings.default.table, socket: RouteNetlinkSocket())
        print("policy rules and routes removed: \(removed)")
        let stopped = GatewayPIDFile.stop(in: URL(fileURLWithPath: gatewayDir))
        print("gateway: \(stopped.map { "stopped (pid \($0))" } ?? "(none running)")")
    }
}
