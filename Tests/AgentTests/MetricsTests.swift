import Dataplane
import Foundation
import NetAddress
import NetLab
import Testing

/// `/metrics`, `/healthz` and `/readyz` of a running agent, checked against
/// what its log says happened.
@Suite(.serialized) struct MetricsTests {
    let b = RouterLab.address(host: 2)

    @Test func metricsParseAndCountWhatHappened() throws {
        let env = try AgentLab()
        defer { env.tearDown() }
        let standalone = try env.startStandalone(resync: "300ms", extra: ["--log-level", "debug"])
        defer { standalone.stop() }
        #expect(try env.kubectl(["apply", "-f", "-"], input: labTable()).status == 0)
        #expect(try waitUntil { try env.jsonpath("rt/lab", ".status.nodesReady") == "1/1" } != nil, "\(standalone.rawLog)")
        #expect(try Traffic.ping(from: env.lab.hostA, b.v4) == 3)

        // Drift: a route removed behind the agent's back is put back by a resync.
        let maps = try env.maps()
        let key = try #require(try maps.routes().routes.keys.first { $0.prefix == IPPrefix("198.18.3.0/24")! })
        #expect(try maps.removeRoute(key))
        #expect(try waitUntil { try maps.route(key) != nil } != nil)
        Thread.sleep(forTimeInterval: 0.5)

        #expect(try env.scrape("/healthz").status == 0)
        #expect(try env.scrape("/readyz").stdout == "ok\n")
        let passesBefore = standalone.entries("pass done")
        let text = try env.scrape("/metrics").stdout
        let passesAfter = standalone.entries("pass done")
        let metrics = try PrometheusText(text)

        let passes = metrics.sum("routelet_reconcile_passes_total")
        #expect(Double(passesBefore.count) <= passes && passes <= Double(passesAfter.count),
                "passes: metric \(passes), log \(passesBefore.count)...\(passesAfter.count)")
        func writes(_ lines: [[String: String]]) -> Double { lines.compactMap { Double($0["writes"] ?? "") }.reduce(0, +) }
        let mapWrites = metrics.sum("routelet_map_writes_total")
        #expect(writes(passesBefore) <= mapWrites && mapWrites <= writes(passesAfter),
                "writes: metric \(mapWrites), log \(writes(passesBefore))...\(writes(passesAfter))")
        let repaired = writes(passesAfter.filter { $0["trigger"] == "resync" })
        #expect(metrics.sum("routelet_drift_repairs_total") >= 1)
        #expect(metrics.sum("routelet_drift_repairs_total") <= repaired)
        #expect(metrics.value("routelet_map_writes_total", ["kind": "set_route"]) == 7, "6 routes, one repaired")

        let nodeWrites = Double(standalone.entries("RouteletNode status written").count)
        #expect(metrics.value("routelet_status_writes_total", ["object": "routeletnode"]) == nodeWrites)
        #expect(metrics.value("routelet_status_writes_total", ["object": "routetable"]) ?? 0 >= 1)
        #expect(metrics.value("routelet_table_routes_installed", ["table": "lab"]) == 6)
        #expect((metrics.value("routelet_route_packets_total", ["table": "lab", "prefix": "198.18.2.0/24"]) ?? 0) >= 3)
        #expect((metrics.value("routelet_dataplane_packets_total", ["reason": "forwarded"]) ?? 0) >= 6)
        #expect(metrics.value("routelet_info", ["version": "0.1.0", "abi": "\(DataplaneABI.version)"]) == 1)
        #expect(metrics.value("routelet_aggregator_leader", [:]) == 1)
        #expect(metrics.value("routelet_reconcile_pass_duration_seconds_count", [:]) ?? 0 >= passes)
        #expect((metrics.value("routelet_kube_requests_total", ["verb": "watch", "code": "200"]) ?? 0)
            + (metrics.value("routelet_kube_requests_total", ["verb": "list", "code": "200"]) ?? 0) >= 2)
    }

    @Test func theManifestAgentServesMetricsAndProbesToo() throws {
        let env = try AgentLab()
        defer { env.tearDown() }
        try env.write("lab.yaml", labTable())
        let agent = try env.startAgent()
        defer { agent.stop() }
        try agent.waitUntilConverged()
        #expect(try waitUntil { try env.scrape("/readyz").stdout == "ok\n" } != nil)
        #expect(try env.scrape("/healthz").stdout == "ok\n")
        let metrics = try PrometheusText(try env.scrape("/metrics").stdout)
        #expect(metrics.sum("routelet_reconcile_passes_total") >= 1)
        #expect(metrics.value("routelet_table_routes_installed", ["table": "lab"]) == 6)
        #expect(metrics.types["routelet_route_packets_total"] == "counter")
    }

}

/// A strict reader of the Prometheus text exposition format (0.0.4): every
/// line is a comment (`# HELP`, `# TYPE` once per family, before its
/// samples) or a sample `name{label="value",...} number`.
struct PrometheusText {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var samples: [Sample] = []
    var types: [String: String] = [:]

    init(_ text: String) throws {
        let name = #"[a-zA-Z_:][a-zA-Z0-9_:]*"#
        let sample = try Regex(#"^("# + name + #")(\{(.*)\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$"#)
        let label = try Regex(#"([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^"\\])*)"(,|$)"#)
        let type = try Regex(#"^# TYPE ("# + name + #") (counter|gauge|histogram|summary|untyped)$"#)
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            if line.hasPrefix("# HELP ") { continue }
            if let match = line.wholeMatch(of: type) {
                let family = String(match.output[1].substring!)
                guard types[family] == nil else { throw ServerTestError("line \(number + 1): a second TYPE for \(family)") }
                types[family] = String(match.output[2].substring!)
                continue
            }
            guard let match = line.wholeMatch(of: sample), let value = Double(String(match.output[4].substring!).replacingOccurrences(of: "+Inf", with: "inf")) else {
                throw ServerTestError("line \(number + 1) is not Prometheus text format: \(line)")
            }
            var labels: [String: String] = [:]
            if let body = match.output[3].substring, !body.isEmpty {
                var rest = body[...]
                while !rest.isEmpty {
                    guard let pair = rest.prefixMatch(of: label) else { throw ServerTestError("line \(number + 1): bad labels \(body)") }
                    labels[String(pair.output[1].substring!)] = String(pair.output[2].substring!)
                    rest = rest[pair.range.upperBound...]
                }
            }
            samples.append(Sample(name: String(match.output[1].substring!), labels: labels, value: value))
        }
    }

    func sum(_ name: String) -> Double {
        samples.filter { $0.name == name }.map(\.value).reduce(0, +)
    }

    func value(_ name: String, _ labels: [String: String]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }
}
