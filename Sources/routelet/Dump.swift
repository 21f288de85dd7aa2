import Agent
import ArgumentParser
import Dataplane
import Foundation
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

    func run() throws {
        try dataplane.enterNamespace()
        let maps = try RouterMaps.openPinned(directory: dataplane.bpffsDirectory)
        let gateway = try GatewayMaps.openPinned(directory: dataplane.bpffsDirectory, router: maps)
        let state = try DataplaneState.read(maps: maps, gateway: gateway, gatewayCounters: true)
        var report = DataplaneReport(state: state, abiVersion: try maps.abiVersion(), names: Interfaces.all())
            .withGateway(state.gateway, conntrack: try gateway.conntrackEntries())
        report.gatewayMark = state.gatewayMark?.description
        report.localDelivery = try LocalDeliveryNetlink.read(table: LocalDeliverySettings.default.table, socket: RouteNetlinkSocket())
            .description
        let status = StatusReport.read(from: stateDir)
        switch output {
        case .table:
            print(report.rendered(), terminator: "")
            if let status { print("\n" + status.rendered(), terminator: "") }
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(DumpOutput(dataplane: report, agent: status)), as: UTF8.self))
        }
    }
}

/// `routelet dump -o json`: the kernel's state, and the agent's status when present.
struct DumpOutput: Codable {
    var dataplane: DataplaneReport
    var agent: StatusReport?
}

struct CleanupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup",
        abstract: "Detach routelet's TC filters, unpin its maps and remove its policy rules and routes; nothing else.",
        discussion: """
            Filters, and the policy rules and local routes that deliver HTTP/HTTPS listener traffic to \
            `routelet gateway` (those tagged with protocol \(LocalDeliverySettings.protocolNumber)), are removed \
            in the current (or --netns) network namespace only. Traffic on those interfaces goes back to \
            the kernel's own routing.
            """
    )

    @OptionGroup var dataplane: DataplaneOptions

    func run() throws {
        try dataplane.enterNamespace()
        let report = try Cleanup.run(pinDirectory: dataplane.bpffsDirectory)
        print("detached from: \(report.detached.isEmpty ? "(no interface)" : report.detached.joined(separator: ", "))")
        print("unpinned: \(report.unpinned.isEmpty ? "(nothing)" : report.unpinned.joined(separator: ", "))")
        // After the filters: no packet is marked any more when the rules go.
        let removed = try LocalDeliveryNetlink.remove(table: LocalDeliverySettings.default.table, socket: RouteNetlinkSocket())
        print("policy rules and routes removed: \(removed)")
    }
}
