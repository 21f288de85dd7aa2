import JSONValue
import RouteletAPI
import Schema
import Testing

/// A RouteTable document: the usual header, then `body` (YAML at the top level).
private func routeTable(_ body: String) throws -> JSONValue {
    try Fixtures.yaml("apiVersion: routelet.dev/v1alpha1\nkind: RouteTable\nmetadata: {name: edge}\n" + body)
}

/// A RouteTable with the given routes (JSON values) on interface eth1.
private func routeTable(routes: [JSONValue]) -> JSONValue {
    [
        "apiVersion": "routelet.dev/v1alpha1", "kind": "RouteTable", "metadata": ["name": "edge"],
        "spec": ["interfaces": ["eth1"], "routes": .array(routes)],
    ]
}

@Suite("Schema validation of RouteTables")
struct ValidationTests {
    @Test("the api.md example, status included, has no violations and no unknown fields")
    func apiExampleIsValid() throws {
        let schema = try Fixtures.routeTableSchema()
        let example = try Fixtures.yaml(Fixtures.apiExample)
        #expect(schema.validate(example) == [])
        #expect(schema.unknownFields(in: example) == [])
        #expect(schema.pruned(example) == example)
        // And the Swift rules agree that it is valid.
        #expect(try RouteTable.decode(from: example).validate() == [])
    }

    struct InvalidCase: Sendable, CustomStringConvertible {
        var description: String
        var document: @Sendable () throws -> JSONValue
        var path: String
        var reason: SchemaViolation.Reason
    }

    static let invalidCases: [InvalidCase] = [
        InvalidCase(
            description: "metric is a string",
            document: { try routeTable("spec:\n  interfaces: [eth1]\n  routes:\n  - {destination: 10.0.0.0/8, interface: eth0, metric: ten}") },
            path: "spec.routes[0].metric", reason: .typeInvalid),
        InvalidCase(
            description: "metric has a fraction",
            document: { routeTable(routes: [["destination": "10.0.0.0/8", "interface": "eth0", "metric": 1.5]]) },
            path: "spec.routes[0].metric", reason: .typeInvalid),
        InvalidCase(
            description: "metric is negative",
            document: { routeTable(routes: [["destination": "10.0.0.0/8", "interface": "eth0", "metric": -1]]) },
            path: "spec.routes[0].metric", reason: .invalid),
        InvalidCase(
            description: "metric does not fit in 32 bits",
            document: { routeTable(routes: [["destination": "10.0.0.0/8", "interface": "eth0", "metric": 4_294_967_296]]) },
            path: "spec.routes[0].metric", reason: .invalid),
        InvalidCase(
            description: "egress interface name of 16 characters",
            document: { routeTable(routes: [["destination": "10.0.0.0/8", "interface": "eth0123456789abc"]]) },
            path: "spec.routes[0].interface", reason: .tooLong),
        InvalidCase(
            description: "ingress interface name of 16 characters",
            document: { try routeTable("spec:\n  interfaces: [abcdefghijklmnop]") },
            path: "spec.interfaces[0]", reason: .tooLong),
        InvalidCase(
            description: "17 next hops",
            document: {
                let hops = (0..<17).map { JSONValue.object(["interface": .string("eth\($0)")]) }
                return routeTable(routes: [["destination": "10.0.0.0/8", "nexthops": .array(hops)]])
            },
            path: "spec.routes[0].nexthops", reason: .tooMany),
        InvalidCase(
            description: "weight 0",
            document: { routeTable(routes: [["destination": "10.0.0.0/8", "nexthops": [["interface": "eth1", "weight": 0]]]]) },
            path: "spec.routes[0].nexthops[0].weight", reason: .invalid),
        InvalidCase(
            description: "weight 257",
            document: { routeTable(routes: [["destination": "10.0.0.0/8", "nexthops": [["interface": "eth1", "weight": 257]]]]) },
            path: "spec.routes[0].nexthops[0].weight", reason: .invalid),
        InvalidCase(
            description: "unknown route type",
            document: { routeTable(routes: [["destination": "10.0.0.0/8", "type": "Foo"]]) },
            path: "spec.routes[0].type", reason: .notSupported),
        InvalidCase(
            description: "route without a destination",
            document: { routeTable(routes: [["interface": "eth0"]]) },
            path: "spec.routes[0].destination", reason: .required),
        InvalidCase(
            description: "empty destination",
            document: { routeTable(routes: [["destination": "", "interface": "eth0"]]) },
            path: "spec.routes[0].destination", reason: .invalid),
        InvalidCase(
            description: "next hop without an interface",
            document: { routeTable(routes: [["destination": "10.0.0.0/8", "nexthops": [["gateway": "10.0.0.1"]]]]) },
            path: "spec.routes[0].nexthops[0].interface", reason: .required),
        InvalidCase(
            description: "no spec",
            document: { try Fixtures.yaml("apiVersion: routelet.dev/v1alpha1\nkind: RouteTable\nmetadata: {name: edge}") },
            path: "spec", reason: .required),
        InvalidCase(
            description: "spec is null",
            document: { try routeTable("spec: null") },
            path: "spec", reason: .typeInvalid),
        InvalidCase(
            description: "spec without interfaces",
            document: { try routeTable("spec:\n  routes: []") },
            path: "spec.interfaces", reason: .required),
        InvalidCase(
            description: "no interfaces",
            document: { try routeTable("spec:\n  interfaces: []") },
            path: "spec.interfaces", reason: .invalid),
        InvalidCase(
            description: "65 interfaces",
            document: {
                let names = (0..<65).map { JSONValue.string("eth\($0)") }
                return ["apiVersion": "routelet.dev/v1alpha1", "kind": "RouteTable", "metadata": ["name": "edge"], "spec": ["interfaces": .array(names)]]
            },
            path: "spec.interfaces", reason: .tooMany),
        InvalidCase(
            description: "10001 routes",
            document: { routeTable(routes: Array(repeating: ["destination": "10.0.0.0/8", "type": "Blackhole"], count: 10_001)) },
            path: "spec.routes", reason: .tooMany),
        InvalidCase(
            description: "an interface listed twice",
            document: { try routeTable("spec:\n  interfaces: [eth1, eth2, eth1]") },
            path: "spec.interfaces[2]", reason: .duplicate),
        InvalidCase(
            description: "ingress interface with a slash",
            document: { try routeTable("spec:\n  interfaces: [eth/1]") },
            path: "spec.interfaces[0]", reason: .invalid),
        InvalidCase(
            description: "egress interface is a glob",
            document: { routeTable(routes: [["destination": "10.0.0.0/8", "interface": "eth*"]]) },
            path: "spec.routes[0].interface", reason: .invalid),
        InvalidCase(
            description: "routes is an object",
            document: { try routeTable("spec:\n  interfaces: [eth1]\n  routes: {destination: 10.0.0.0/8}") },
            path: "spec.routes", reason: .typeInvalid),
        InvalidCase(
            description: "a route is a string",
            document: { routeTable(routes: ["10.0.0.0/8"]) },
            path: "spec.routes[0]", reason: .typeInvalid),
        InvalidCase(
            description: "unknown selector operator",
            document: { try routeTable("spec:\n  interfaces: [eth1]\n  nodeSelector:\n    matchExpressions: [{key: zone, operator: Has}]") },
            path: "spec.nodeSelector.matchExpressions[0].operator", reason: .notSupported),
        InvalidCase(
            description: "label value is a number",
            document: { try routeTable("spec:\n  interfaces: [eth1]\n  nodeSelector:\n    matchLabels: {zone: 5}") },
            path: "spec.nodeSelector.matchLabels.zone", reason: .typeInvalid),
        InvalidCase(
            description: "condition status other than True, False, Unknown",
            document: { try routeTable("spec: {interfaces: [eth1]}\nstatus:\n  conditions: [{type: Accepted, status: Maybe}]") },
            path: "status.conditions[0].status", reason: .notSupported),
        InvalidCase(
            description: "lastTransitionTime is not a time",
            document: {
                try routeTable("spec: {interfaces: [eth1]}\nstatus:\n  conditions: [{type: Accepted, status: \"True\", lastTransitionTime: yesterday}]")
            },
            path: "status.conditions[0].lastTransitionTime", reason: .invalid),
        InvalidCase(
            description: "two conditions of one type",
            document: {
                try routeTable("spec: {interfaces: [eth1]}\nstatus:\n  conditions: [{type: Accepted, status: \"True\"}, {type: Accepted, status: \"False\"}]")
            },
            path: "status.conditions[1]", reason: .duplicate),
        InvalidCase(
            description: "metadata is a string",
            document: { try Fixtures.yaml("apiVersion: routelet.dev/v1alpha1\nkind: RouteTable\nmetadata: edge\nspec: {interfaces: [eth1]}") },
            path: "metadata", reason: .typeInvalid),
    ]

    @Test("an invalid document gets exactly one violation, with the expected path and reason", arguments: invalidCases)
    func invalidDocument(_ testCase: InvalidCase) throws {
        let violations = try Fixtures.routeTableSchema().validate(testCase.document())
        #expect(violations.map(\.path) == [testCase.path], "\(violations)")
        #expect(violations.map(\.reason) == [testCase.reason], "\(violations)")
    }

    @Test("messages are worded as kube-apiserver words them")
    func kubernetesMessages() throws {
        let schema = try Fixtures.routeTableSchema()
        func messages(_ document: JSONValue) -> [String] { schema.validate(document).map(\.message) }

        #expect(messages(routeTable(routes: [["destination": "10.0.0.0/8", "interface": "eth0", "metric": "ten"]])) == [
            #"Invalid value: "string": spec.routes[0].metric in body must be of type integer: "string""#,
        ])
        #expect(messages(routeTable(routes: [["interface": "eth0"]])) == ["Required value"])
        #expect(messages(routeTable(routes: [["destination": "10.0.0.0/8", "interface": "eth0123456789abc"]])) == [
            "Too long: may not be longer than 15",
        ])
        #expect(messages(routeTable(routes: [["destination": "10.0.0.0/8", "type": "Foo"]])) == [
            #"Unsupported value: "Foo": supported values: "Unicast", "Blackhole", "Local""#,
        ])
        #expect(messages(routeTable(routes: Array(repeating: ["destination": "10.0.0.0/8", "type": "Local"], count: 10_001))) == [
            "Too many: 10001: must have at most 10000 items",
        ])
        #expect(messages(routeTable(routes: [["destination": "10.0.0.0/8", "interface": "eth0", "metric": -1]])) == [
            "Invalid value: -1: spec.routes[0].metric in body should be greater than or equal to 0",
        ])
        #expect(messages(routeTable(routes: [["destination": "10.0.0.0/8", "nexthops": [["interface": "eth1", "weight": 257]]]])) == [
            "Invalid value: 257: spec.routes[0].nexthops[0].weight in body should be less than or equal to 256",
        ])
        #expect(messages(try routeTable("spec:\n  interfaces: [eth1, eth1]")) == [#"Duplicate value: "eth1""#])
        #expect(messages(try routeTable("spec:\n  interfaces: []")) == [
            "Invalid value: 0: spec.interfaces in body should have at least 1 items",
        ])
        #expect(messages(try routeTable("spec:\n  interfaces: [\"a/b\"]")) == [
            #"Invalid value: "a/b": spec.interfaces[0] in body should match '^[^/:\x00-\x20\x7f]+$'"#,
        ])
        let description = schema.validate(routeTable(routes: [["interface": "eth0"]])).first?.description
        #expect(description == "spec.routes[0].destination: Required value")
    }

    @Test("every violation of a document is reported, in field order")
    func allViolationsAreReported() throws {
        let schema = try Fixtures.routeTableSchema()
        let document = try routeTable("""
            spec:
              interfaces: [eth1, toolonginterfacename]
              routes:
              - {interface: eth0, metric: -5}
              - destination: 10.0.0.0/8
                type: Anycast
                nexthops: [{weight: 0}]
            """)
        let found = schema.validate(document).map { "\($0.path) \($0.reason.rawValue)" }
        #expect(found == [
            "spec.interfaces[1] FieldValueTooLong",
            "spec.routes[0].destination FieldValueRequired",
            "spec.routes[0].metric FieldValueInvalid",
            "spec.routes[1].type FieldValueNotSupported",
            "spec.routes[1].nexthops[0].interface FieldValueRequired",
            "spec.routes[1].nexthops[0].weight FieldValueInvalid",
        ])
    }

    static let documentWithUnknownFields = """
        apiVersion: routelet.dev/v1alpha1
        kind: RouteTable
        metadata: {name: edge, labels: {team: net}, somethingNew: 1}
        spec:
          nodeSelector:
            matchLabels: {any.key/name: value}
          interfaces: [eth1]
          routes:
          - {destination: 10.0.0.0/8, interface: eth0, mtu: 9000}
          - destination: 10.1.0.0/16
            nexthops: [{interface: eth1, weight: 2, bfd: true}]
          color: blue
        status:
          routes: 2
          extra: {deep: {deeper: 1}}
        extra: 1
        """

    static let documentWithoutUnknownFields = """
        apiVersion: routelet.dev/v1alpha1
        kind: RouteTable
        metadata: {name: edge, labels: {team: net}, somethingNew: 1}
        spec:
          nodeSelector:
            matchLabels: {any.key/name: value}
          interfaces: [eth1]
          routes:
          - {destination: 10.0.0.0/8, interface: eth0}
          - destination: 10.1.0.0/16
            nexthops: [{interface: eth1, weight: 2}]
        status:
          routes: 2
        """

    @Test("unknown fields are listed by path; metadata, map entries and apiVersion/kind are not unknown")
    func unknownFieldsAreListed() throws {
        let schema = try Fixtures.routeTableSchema()
        let document = try Fixtures.yaml(Self.documentWithUnknownFields)
        #expect(schema.unknownFields(in: document) == [
            "spec.routes[0].mtu", "spec.routes[1].nexthops[0].bfd", "spec.color", "status.extra", "extra",
        ])
        // Validation does not report them: the server prunes or rejects them first.
        #expect(schema.validate(document) == [])
    }

    @Test("pruning removes exactly the unknown fields and keeps metadata as it is")
    func pruningRemovesUnknownFields() throws {
        let schema = try Fixtures.routeTableSchema()
        let pruned = schema.pruned(try Fixtures.yaml(Self.documentWithUnknownFields))
        #expect(pruned == (try Fixtures.yaml(Self.documentWithoutUnknownFields)))
        #expect(schema.unknownFields(in: pruned) == [])
        #expect(pruned["metadata"]?["somethingNew"] == 1)
    }

    @Test("x-kubernetes-preserve-unknown-fields keeps undeclared members but still checks and prunes declared ones")
    func preserveUnknownFields() throws {
        let schema = try StructuralSchema([
            "type": "object",
            "properties": [
                "spec": [
                    "type": "object", "x-kubernetes-preserve-unknown-fields": true,
                    "properties": ["known": ["type": "object", "properties": ["a": ["type": "string", "maxLength": 3]]]],
                ],
                "free": ["x-kubernetes-preserve-unknown-fields": true],
            ],
        ])
        let document: JSONValue = ["spec": ["anything": [1, 2], "known": ["a": "long", "b": 2]], "free": ["x": ["y": nil]]]
        #expect(schema.unknownFields(in: document) == ["spec.known.b"])
        #expect(schema.pruned(document) == ["spec": ["anything": [1, 2], "known": ["a": "long"]], "free": ["x": ["y": nil]]])
        #expect(schema.validate(document).map(\.path) == ["spec.known.a"])
    }

    @Test("int-or-string, nullable, formats and exclusive bounds")
    func otherKeywords() throws {
        let schema = try StructuralSchema([
            "type": "object",
            "properties": [
                "port": ["x-kubernetes-int-or-string": true],
                "note": ["type": "string", "nullable": true, "maxLength": 10],
                "when": ["type": "string", "format": "date-time", "maxLength": 64],
                "day": ["type": "string", "format": "date", "maxLength": 10],
                "ratio": ["type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 1],
                "count": ["type": "integer", "format": "int32", "multipleOf": 5, "minimum": 0, "maximum": 100],
            ],
        ])
        func paths(_ value: JSONValue) -> [String] { schema.validate(value).map(\.path) }
        #expect(paths(["port": 80, "note": nil, "when": "2024-05-01T10:00:00.123+02:00", "day": "2024-02-29", "ratio": 0.5, "count": 10.0]) == [])
        #expect(paths(["port": "http", "when": "2024-05-01t10:00:00Z", "ratio": 1]) == [])
        #expect(paths(["port": true]) == ["port"])
        #expect(paths(["port": 1.5]) == ["port"])
        #expect(paths(["when": "2024-13-01T10:00:00Z"]) == ["when"])
        #expect(paths(["when": "2024-05-01T25:00:00Z"]) == ["when"])
        #expect(paths(["day": "2023-02-29"]) == ["day"])
        #expect(paths(["ratio": 0]) == ["ratio"])
        #expect(paths(["count": 7]) == ["count"])
        #expect(schema.validate(["port": true]).first?.message == #"Invalid value: "boolean": port in body must be of type integer,string: "boolean""#)
        #expect(schema.validate(["ratio": 0]).first?.message == "Invalid value: 0: ratio in body should be greater than 0")
    }

    @Test("a 1000-deep value gets one violation and no stack overflow, wherever it is")
    func deepNesting() throws {
        let schema = try Fixtures.routeTableSchema()
        var deep: JSONValue = "bottom"
        for level in 0..<1000 { deep = level.isMultiple(of: 2) ? ["a": deep] : [deep] }

        var document = try routeTable("spec:\n  interfaces: [eth1]\n  nodeSelector:\n    matchLabels: {}")
        document = FieldCoverage.updating(document, at: ["spec", "nodeSelector", "matchLabels", "zone"]) { _ in deep }
        let violations = schema.validate(document)
        #expect(violations.count == 1)
        #expect(violations.first?.reason == .invalid)
        #expect(violations.first?.path.hasPrefix("spec.nodeSelector.matchLabels.zone[0].a[0]") == true)
        #expect(violations.first?.message.contains("nested more than 100 levels deep") == true)
        #expect(schema.unknownFields(in: document) == [])
        #expect(schema.pruned(document) == document)

        let unknown = FieldCoverage.updating(try routeTable("spec:\n  interfaces: [eth1]"), at: ["spec", "deep"]) { _ in deep }
        #expect(schema.unknownFields(in: unknown) == ["spec.deep"])
        #expect(schema.validate(unknown).count == 1)
        #expect(schema.validate(schema.pruned(unknown)) == [])

        #expect(schema.validate(deep).count == 1)
    }

    @Test("schemas that are too deep, not structural or use unsupported keywords are refused with the keyword's path")
    func badSchemasAreRefused() throws {
        var deepSchema: JSONValue = ["type": "string"]
        for _ in 0..<1000 { deepSchema = ["type": "object", "properties": ["a": deepSchema]] }
        let cases: [(JSONValue, SchemaError.Code, String)] = [
            (deepSchema, .tooDeep, String(repeating: "properties.a.", count: 101).dropLast() + ""),
            (["type": "object", "properties": ["a": ["anyOf": [["type": "string"]]]]], .unsupportedKeyword, "properties.a.anyOf"),
            (["type": "object", "properties": ["a": ["maxLength": 3]]], .notStructural, "properties.a"),
            (["type": "object", "properties": ["a": ["type": "array"]]], .notStructural, "properties.a"),
            (["type": "object", "properties": ["a": ["type": "string", "pattern": "(["]]], .invalidPattern, "properties.a.pattern"),
            (["type": "object", "required": ["b"], "properties": ["a": ["type": "string"]]], .notStructural, ""),
            (["type": "object", "properties": ["a": ["type": "strin"]]], .invalidKeyword, "properties.a.type"),
            (["type": "object", "properties": ["a": ["type": "string", "maxLength": -1]]], .invalidKeyword, "properties.a.maxLength"),
        ]
        for (json, code, path) in cases {
            #expect {
                try StructuralSchema(json)
            } throws: { error in
                guard let error = error as? SchemaError else { return false }
                return error.code == code && error.path == path
            }
        }
    }
}
