import DataplaneModel
import NetAddress
import Reconciler
import RouteletAPI
import YAML

/// A RouteTable from YAML text; fails the test on bad input.
func table(_ yaml: String, created: String? = nil) throws -> RouteTable {
    guard let document = try YAML.parseDocuments(yaml).first else { throw TestInputError("no YAML document") }
    var table = try RouteTable.decode(from: document.value)
    table.metadata.creationTimestamp = created
    let errors = table.validate()
    guard errors.isEmpty else { throw TestInputError("invalid test table: \(errors)") }
    return table
}

struct TestInputError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A node with interfaces eth0...eth3 (ifindex 10...13) up, unless listed as down or missing.
func node(down: Set<String> = [], missing: Set<String> = [], labels: [String: String] = [:],
          extra: [String] = []) -> NodeFacts {
    let names = ["eth0", "eth1", "eth2", "eth3"] + extra
    let links = names.enumerated().compactMap { index, name -> NodeFacts.Link? in
        missing.contains(name) ? nil : NodeFacts.Link(name: name, ifindex: UInt32(10 + index), isUp: !down.contains(name))
    }
    return NodeFacts(name: "node-a", labels: labels, links: links, addresses: [IPAddress("192.0.2.10")!])
}

func prefix(_ text: String) -> IPPrefix { IPPrefix(text)! }
func address(_ text: String) -> IPAddress { IPAddress(text)! }

extension Compilation {
    /// The action for `prefix` in the table named `name`.
    func action(_ name: String, _ text: String) -> DesiredAction? {
        guard let id = verdicts.first(where: { $0.name == name })?.tableID else { return nil }
        return desired.routes[RouteKey(table: id, prefix: prefix(text))]
    }

    func verdict(_ name: String) -> TableVerdict? { verdicts.first { $0.name == name } }
}
