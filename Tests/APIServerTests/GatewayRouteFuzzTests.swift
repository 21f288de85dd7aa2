@testable import APIServer
import Foundation
import JSONValue
import NetAddress
import NetLab
import Reconciler
import RouteletAPI
import DataplaneModel
import Testing

/// A valid TCP GatewayRoute with every L4 field set: the starting point of each mutation.
private func template(_ name: String) -> JSONValue {
    [
        "apiVersion": "routelet.dev/v1alpha1", "kind": "GatewayRoute", "metadata": ["name": .string(name)],
        "spec": [
            "interfaces": ["eth1", "veth*"],
            "listener": ["address": "198.51.100.10", "port": 80, "protocol": "TCP", "preserveClientIP": false,
                         "maglevTableSize": 251, "idleTimeoutSeconds": 60],
            "rules": [["backends": [
                ["addresses": ["192.0.2.1", "192.0.2.2"], "port": 8080, "weight": 3],
                ["service": ["name": "users", "port": 80], "weight": 1],
            ]]],
            "sourceRanges": ["allow": ["198.51.100.0/24"], "deny": ["198.51.100.66/32"]],
            "rateLimit": ["requestsPerSecond": 100, "burst": 200],
        ],
    ]
}

/// Values a mutation puts somewhere: wrong types, edge numbers, hostile strings.
private func randomValue(_ random: inout SplitMix64, depth: Int = 0) -> JSONValue {
    let strings = ["", "TCP", "UDP", "HTTP", "0.0.0.0", "::", "255.255.255.255", "10.0.0.1/8", "2001:db8::1",
                   String(repeating: "a", count: 300), "😀", "\u{0}", "eth0\n", "*", "/../", "-1"]
    let numbers: [Int64] = [0, -1, 1, 65535, 65536, 131071, 131072, 16381, 1_000_000_000_000, -1_000_000_000_000, 4_294_967_296]
    switch Int.random(in: 0..<8, using: &random) {
    case 0: return .string(strings.randomElement(using: &random)!)
    case 1: return .integer(numbers.randomElement(using: &random)!)
    case 2: return .bool(Bool.random(using: &random))
    case 3: return .null
    case 4 where depth < 3: return .array((0..<Int.random(in: 0...3, using: &random)).map { _ in randomValue(&random, depth: depth + 1) })
    case 5 where depth < 3: return .object(["x": randomValue(&random, depth: depth + 1)])
    case 6: return Bool.random(using: &random) ? .double(0.5) : .integer(Int64(Int.random(in: -3...70000, using: &random)))
    default: return .string("198.51.100.\(Int.random(in: 0...300, using: &random))")
    }
}

/// Every path of `value` (object keys and array indices).
private func paths(of value: JSONValue, prefix: [String] = []) -> [[String]] {
    var result = [prefix]
    if let object = value.objectValue {
        for (key, child) in object { result += paths(of: child, prefix: prefix + [key]) }
    } else if let array = value.arrayValue {
        for (index, child) in array.enumerated() { result += paths(of: child, prefix: prefix + ["\(index)"]) }
    }
    return result
}

/// `value` with the node at `path` replaced (nil: removed).
private func replacing(_ value: JSONValue, at path: ArraySlice<String>, with new: JSONValue?) -> JSONValue? {
    guard let first = path.first else { return new }
    if var object = value.objectValue {
        object[first] = object[first].flatMap { replacing($0, at: path.dropFirst(), with: new) }
        return .object(object)
    }
    if var array = value.arrayValue, let index = Int(first), array.indices.contains(index) {
        if let child = replacing(array[index], at: path.dropFirst(), with: new) { array[index] = child } else { array.remove(at: index) }
        return .array(array)
    }
    return value
}

@Suite struct GatewayRouteFuzzTests {
    /// 1,000 mutated GatewayRoutes against the API server: never a 5xx. Each
    /// one it accepts goes through what the agent does with it (decode,
    /// validate, compile, plan) without a trap, on a node with interfaces.
    @Test func randomGatewayRoutesNeverGiveA5xxNorTrapTheAgentsCompile() async throws {
        let server = try Server()
        defer { server.remove() }
        var random = SplitMix64(seed: 0x726c_6574)
        let node = NodeFacts(name: "n", links: [.init(name: "eth1", ifindex: 2, isUp: true), .init(name: "veth0", ifindex: 3, isUp: true)],
                             interfaceAddresses: [.init(ifindex: 2, address: IPAddress("192.0.2.254")!, prefixLength: 24)])
        let base = await server.call("POST", gatewayRoutesPath, template("base"))
        #expect(base.status == 201, "the template is valid: \(base.body)")
        var accepted: [GatewayRoute] = []
        var statuses: [Int: Int] = [:]
        for index in 0..<1000 {
            var body = template("r\(index)")
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let all = paths(of: body).filter { !$0.isEmpty && $0 != ["metadata", "name"] && $0 != ["metadata"] }
                let path = all.randomElement(using: &random)!
                body = replacing(body, at: path[...], with: Int.random(in: 0..<5, using: &random) == 0 ? nil : randomValue(&random)) ?? body
            }
            let result = await server.call("POST", gatewayRoutesPath, body)
            statuses[result.status, default: 0] += 1
            #expect((200..<500).contains(result.status), "body \(index): \(result.status) \(result.body)")
            guard result.status == 201 else { continue }
            let route = try GatewayRoute.decode(from: result.body)
            #expect(route.validate().isEmpty, "the server accepted what the agent refuses: \(route.validate())")
            accepted.append(route)
        }
        #expect(statuses[201, default: 0] >= 10 && statuses[422, default: 0] > 100 && statuses[400, default: 0] > 10,
                "a mix of accepted and refused bodies: \(statuses)")
        let compiled = GatewayCompiler.compile(routes: accepted, endpoints: EndpointIndex(), node: node)
        var desired = DesiredDataplane()
        desired.listeners = compiled.listeners
        desired.gatewayInterfaces = compiled.interfaces
        let plan = Planner.plan(desired: desired, actual: DataplaneState(), isCurrent: { _ in true })
        #expect(compiled.verdicts.count == accepted.count && compiled.listeners.count <= accepted.count)
        #expect(plan.operations.count >= compiled.listeners.count)
    }
}
