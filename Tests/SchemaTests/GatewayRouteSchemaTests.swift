import JSONValue
import RouteletAPI
import Schema
import Testing

@Suite("Schema of GatewayRoutes")
struct GatewayRouteSchemaTests {
    @Test("the api.md example, status included, has no violations and no unknown fields, and Swift agrees")
    func apiExampleIsValid() throws {
        let schema = try Fixtures.gatewayRouteSchema()
        let example = try Fixtures.yaml(Fixtures.gatewayAPIExample)
        #expect(schema.validate(example) == [])
        #expect(schema.unknownFields(in: example) == [])
        #expect(schema.pruned(example) == example)
        #expect(try GatewayRoute.decode(from: example).validate() == [])
    }

    /// The example with one change at `keys`, and the path the schema must name.
    static let invalid: [(String, [String], JSONValue?, String, SchemaViolation.Reason)] = [
        ("an unknown protocol", ["spec", "listener", "protocol"], "SCTP", "spec.listener.protocol", .notSupported),
        ("port 0", ["spec", "listener", "port"], 0, "spec.listener.port", .invalid),
        ("a Maglev table below 251", ["spec", "listener", "maglevTableSize"], 250, "spec.listener.maglevTableSize", .invalid),
        ("a weight above 1000000", ["spec", "rules", "0", "backends", "0", "weight"], 1_000_001, "spec.rules[0].backends[0].weight", .invalid),
        ("no rules", ["spec", "rules"], [], "spec.rules", .invalid),
        ("no listener", ["spec", "listener"], nil, "spec.listener", .required),
        ("a path without a value", ["spec", "rules", "0", "matches", "0", "path", "value"], nil, "spec.rules[0].matches[0].path.value", .required),
        ("an unknown method", ["spec", "rules", "0", "matches", "0", "method"], "FETCH", "spec.rules[0].matches[0].method", .notSupported),
        ("an empty allow list", ["spec", "sourceRanges", "allow"], [], "spec.sourceRanges.allow", .invalid),
        ("a rate of 0", ["spec", "rateLimit", "requestsPerSecond"], 0, "spec.rateLimit.requestsPerSecond", .invalid),
        ("a duplicate hostname", ["spec", "hostnames"], ["a.example.com", "a.example.com"], "spec.hostnames[1]", .duplicate),
    ]

    @Test("bounds, enums, required fields and sets are in the schema", arguments: invalid)
    func schemaRefuses(description: String, keys: [String], value: JSONValue?, path: String, reason: SchemaViolation.Reason) throws {
        let schema = try Fixtures.gatewayRouteSchema()
        let example = try Fixtures.yaml(Fixtures.gatewayAPIExample)
        let edited = Self.setting(example, keys, value)
        let violations = schema.validate(edited)
        #expect(violations.contains { $0.path == path && $0.reason == reason }, "\(description): \(violations)")
    }

    /// `json` with the member at `keys` (object keys or list indexes) replaced; nil removes it.
    static func setting(_ json: JSONValue, _ keys: [String], _ value: JSONValue?) -> JSONValue {
        guard let first = keys.first else { return value ?? .null }
        switch json {
        case .object(var object):
            object[first] = keys.count == 1 ? value : object[first].map { setting($0, Array(keys.dropFirst()), value) }
            return .object(object)
        case .array(var elements):
            guard let index = Int(first), elements.indices.contains(index) else { return json }
            elements[index] = setting(elements[index], Array(keys.dropFirst()), value)
            return .array(elements)
        default:
            return json
        }
    }

    @Test("the CRD keeps the CEL rules for what a schema cannot say, each with a message")
    func celRulesAreKept() throws {
        let schema = try Fixtures.gatewayRouteSchema()
        let spec = try #require(schema.properties["spec"])
        let listener = try #require(spec.properties["listener"])
        let rules = spec.validations.map(\.rule) + listener.validations.map(\.rule)
        #expect((spec.validations + listener.validations).allSatisfy { $0.message?.isEmpty == false })
        #expect(rules.contains("isIP(self.address)"))
        #expect(rules.contains("(self.protocol == 'HTTPS') == has(self.tls)"))
        #expect(rules.contains { $0.contains("self.maglevTableSize % p != 0") && $0.contains("359]") })
        #expect(rules.contains("!(self.listener.protocol in ['TCP', 'UDP']) || size(self.rules) == 1"))
        #expect(rules.contains { $0.contains("size(r.matches) == 0") })
        #expect(rules.contains { $0.contains("size(self.hostnames) == 0") })
        #expect(rules.contains { $0.contains("ip(a).family() == ip(self.listener.address).family()") })
        let backend = try #require(spec.properties["rules"]?.items?.properties["backends"]?.items)
        #expect(backend.validations.map(\.rule).contains("has(self.service) != has(self.addresses)"))
        let path = try #require(spec.properties["rules"]?.items?.properties["matches"]?.items?.properties["path"])
        #expect(path.validations.first?.rule.contains("!self.value.contains('/../')") == true)
        #expect(path.properties["type"]?.enumValues == ["Exact", "PathPrefix", "RegularExpression"])
        let allow = try #require(spec.properties["sourceRanges"]?.properties["allow"])
        #expect(allow.maxItems == 1000 && allow.validations.first?.rule.contains("cidr(c).masked() == cidr(c)") == true)
        #expect(listener.properties["idleTimeoutSeconds"]?.maximum == .integer(604_800))
        #expect(listener.properties["maglevTableSize"]?.maximum == .integer(131_071))
    }
}
