import Testing
import JSONValue

/// A resource shaped like routelet's, as the printer columns see it.
private let resource: JSONValue = [
    "metadata": [
        "name": "r1",
        "creationTimestamp": "2024-05-01T10:00:00Z",
        "labels": ["app.kubernetes.io/name": "edge"],
    ],
    "spec": [
        "interfaces": ["eth0", "eth1"],
        "ports": [["name": "http", "port": 80], ["name": "https", "port": 443], ["port": 8080]],
        "weight": 2.5,
    ],
    "status": [
        "routes": 3,
        "nodesReady": true,
        "conditions": [
            ["type": "Accepted", "status": "True"],
            ["type": "Programmed", "status": "False"],
        ],
    ],
]

/// Expression and the values it must select from `resource`.
private let pathCases: [(String, [JSONValue])] = [
    // The printer-column expressions of routelet's CRDs.
    (".spec.interfaces", [["eth0", "eth1"]]),
    (".status.routes", [3]),
    (".status.nodesReady", [true]),
    (#".status.conditions[?(@.type=="Programmed")].status"#, ["False"]),
    (".metadata.creationTimestamp", ["2024-05-01T10:00:00Z"]),
    // Spellings of the same path.
    ("{.metadata.name}", ["r1"]),
    ("$.metadata.name", ["r1"]),
    ("{$.metadata.name}", ["r1"]),
    (" { .metadata.name } ", ["r1"]),
    ("metadata.name", ["r1"]),
    ("$['metadata']['name']", ["r1"]),
    // Indexes and wildcards.
    (".spec.interfaces[0]", ["eth0"]),
    (".spec.interfaces[-1]", ["eth1"]),
    (".spec.interfaces[2]", []),
    (".spec.interfaces[-3]", []),
    (".spec.interfaces[*]", ["eth0", "eth1"]),
    (".spec.ports[*].port", [80, 443, 8080]),
    (".spec.ports[*].name", ["http", "https"]),
    (".spec.ports.*.port", [80, 443, 8080]),
    (".metadata.labels[*]", ["edge"]),
    // Keys with dots.
    (".metadata.labels['app.kubernetes.io/name']", ["edge"]),
    (#".metadata.labels["app.kubernetes.io/name"]"#, ["edge"]),
    (#".metadata.labels.app\.kubernetes\.io/name"#, ["edge"]),
    // Filters.
    (#".status.conditions[?(@.type!="Programmed")].type"#, ["Accepted"]),
    (".status.conditions[?(@.type=='Accepted')].status", ["True"]),
    (".spec.ports[?(@.port==443)].name", ["https"]),
    (".spec.ports[?( @.port != 80 )].port", [443, 8080]),
    (".spec.ports[?(@.port==443.0)].name", ["https"]),
    (".spec.ports[?(@.name)].port", [80, 443]),
    (".spec.ports[?(@.name!='http')].port", [443]),
    (#".spec.ports[?(@.port=="80")].name"#, []),
    (".status.conditions[?(@.type=='Missing')].status", []),
    (".status[?(@.type=='Accepted')]", []),
    // Missing paths select nothing.
    (".metadata.missing", []),
    (".spec.interfaces.name", []),
    (".status.routes[0]", []),
]

@Test("JSONPath selects the expected values", arguments: pathCases)
func jsonPathEvaluation(expression: String, expected: [JSONValue]) throws {
    let path = try JSONPath(expression)
    #expect(path.evaluate(resource) == expected, "\(expression)")
}

@Test("a JSONPath of just $ selects the whole value")
func jsonPathRoot() throws {
    #expect(try JSONPath("$").evaluate(resource) == [resource])
    #expect(try JSONPath("{$}").evaluate("x") == ["x"])
}

/// Expressions that must be rejected, with the kind of error.
private let badPaths: [(String, JSONPathError.Code)] = [
    ("", .syntax),
    ("{}", .syntax),
    ("{.a", .syntax),
    ("{.a}{.b}", .syntax),
    (".a.", .syntax),
    (".a b", .syntax),
    (".a[", .syntax),
    (".a[]", .syntax),
    (".a['x", .syntax),
    (".a[x]", .syntax),
    (".a[1.5]", .syntax),
    (".a[99999999999999999999999]", .syntax),
    (".a[?(@.x==)]", .syntax),
    (".a[?(@.x=1)]", .syntax),
    (".a[?@.x==1]", .syntax),
    (".a[?(@.x==1]", .syntax),
    (".a[?(.x==1)]", .syntax),
    (".a[?(@.x==1e999)]", .syntax),
    ("..a", .unsupported),
    (".a..b", .unsupported),
    (".a[0:2]", .unsupported),
    (".a[0,1]", .unsupported),
    (".a[?(@.x<1)]", .unsupported),
    (".a[?(@.x=~'y')]", .unsupported),
]

@Test("invalid or unsupported JSONPath expressions are rejected with a position", arguments: badPaths)
func jsonPathErrors(expression: String, code: JSONPathError.Code) throws {
    let error = try #require(throws: JSONPathError.self, "\(expression) must be rejected") {
        try JSONPath(expression)
    }
    #expect(error.code == code, "\(expression): \(error)")
    #expect(error.expression == expression)
    #expect((0...expression.count).contains(error.position), "\(error)")
}

/// Expression, column type, kubectl text, and the Table cell the server sends.
private let columnCases: [(String, String, String, JSONValue)] = [
    (".spec.interfaces", "string", #"["eth0","eth1"]"#, #"["eth0","eth1"]"#),
    (".status.routes", "integer", "3", 3),
    (".status.nodesReady", "boolean", "true", true),
    (#".status.conditions[?(@.type=="Programmed")].status"#, "string", "False", "False"),
    (".metadata.creationTimestamp", "date", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"),
    (".status.missing", "string", "", nil),
    (".status.missing", "integer", "", nil),
    (".spec.ports[*].port", "integer", "80,443,8080", "80,443,8080"),
    (".spec.ports[0]", "string", #"{"name":"http","port":80}"#, #"{"name":"http","port":80}"#),
    (".spec.weight", "number", "2.5", 2.5),
    (".spec.weight", "integer", "2", 2),
    (".status.routes", "number", "3", 3),
    (".status.routes", "string", "3", "3"),
    (".status.nodesReady", "string", "true", "true"),
    (".metadata.name", "integer", "r1", "r1"),
    (".status.conditions[*].status", "string", "True,False", "True,False"),
]

@Test("columnText and cell format like kubectl printer columns", arguments: columnCases)
func jsonPathColumns(expression: String, type: String, text: String, cell: JSONValue) throws {
    let path = try JSONPath(expression)
    #expect(path.columnText(resource, type: type) == text, "\(expression) as \(type)")
    #expect(path.cell(resource, type: type) == cell, "\(expression) as \(type)")
}

@Test("column text escapes strings inside compact JSON and leaves plain strings alone")
func jsonPathColumnEscaping() throws {
    let value: JSONValue = ["a": ["line\n\"q\"\u{1}"], "s": "line\n\"q\""]
    #expect(try JSONPath(".a").columnText(value, type: "string") == #"["line\n\"q\"\u0001"]"#)
    #expect(try JSONPath(".s").columnText(value, type: "string") == "line\n\"q\"")
    #expect(try JSONPath(".n").cell(["n": nil], type: "string") == nil)
}
