import JSONValue
import Testing
import YAML

@Suite struct YAMLStructureTests {
    @Test("multi-document streams with comments; empty documents are skipped")
    func multiDocumentStream() throws {
        let documents = try YAML.parseDocuments("""
            # leading comment
            ---
            a: 1   # trailing comment
            ---
            # only a comment
            ---
            ---
            b: [x, z]
            ...
            ---
            null
            ---
            - 3
            """)
        #expect(documents.map(\.value) == [["a": 1], ["b": ["x", "z"]], [3]])
        #expect(documents.map(\.startLine) == [2, 7, 12])
    }

    @Test func emptyStreamHasNoDocuments() throws {
        #expect(try YAML.parseDocuments("").isEmpty)
        #expect(try YAML.parseDocuments("# nothing\n\n").isEmpty)
        #expect(try YAML.parseDocuments(bytes: [UInt8]()).isEmpty)
    }

    @Test("member order of mappings is kept")
    func memberOrderIsKept() throws {
        let document = try #require(try YAML.parseDocuments("z: 1\na: 2\nm: 3\n").first)
        #expect(document.value.objectValue?.keys == ["z", "a", "m"])
    }

    @Test("anchors and aliases are resolved")
    func anchorsAndAliases() throws {
        let document = try #require(try YAML.parseDocuments("""
            base: &b {x: 1, w: [a, b]}
            copy: *b
            name: &n eth0
            names: [*n, *n]
            """).first)
        #expect(document.value["copy"] == ["x": 1, "w": ["a", "b"]])
        #expect(document.value["names"] == ["eth0", "eth0"])
    }

    @Test("an anchor may be redefined; an alias takes the latest definition")
    func anchorRedefinition() throws {
        let document = try #require(try YAML.parseDocuments("a: &x 1\nb: *x\nc: &x 2\nd: *x\n").first)
        #expect(document.value == ["a": 1, "b": 1, "c": 2, "d": 2])
    }

    @Test("anchors do not cross documents")
    func anchorsAreScopedToADocument() {
        #expect(throws: YAMLError(line: 3, column: 4, message: "alias *x refers to an undefined anchor")) {
            try YAML.parseDocuments("a: &x 1\n---\nb: *x\n")
        }
    }

    @Test("merge keys: one mapping, a list of mappings, explicit keys win")
    func mergeKeys() throws {
        let document = try #require(try YAML.parseDocuments("""
            base: &base {metric: 10, interface: eth0}
            other: &other {metric: 20, gateway: 10.0.0.1}
            one:
              <<: *base
              destination: 10.0.0.0/8
            list:
              <<: [*base, *other]
            override:
              metric: 5
              <<: *base
            overrideAfter:
              <<: *base
              metric: 7
            inline:
              <<: {a: 1}
            """).first)
        #expect(document.value["one"] == ["metric": 10, "interface": "eth0", "destination": "10.0.0.0/8"])
        #expect(document.value["list"] == ["metric": 10, "interface": "eth0", "gateway": "10.0.0.1"])
        #expect(document.value["override"] == ["metric": 5, "interface": "eth0"])
        #expect(document.value["overrideAfter"] == ["metric": 7, "interface": "eth0"])
        #expect(document.value["inline"] == ["a": 1])
    }

    @Test("a quoted \"<<\" is an ordinary key")
    func quotedMergeKeyIsOrdinary() throws {
        let document = try #require(try YAML.parseDocuments("'<<': {a: 1}\n").first)
        #expect(document.value == ["<<": ["a": 1]])
    }

    @Test("scalar mapping keys become strings")
    func scalarKeysBecomeStrings() throws {
        let document = try #require(try YAML.parseDocuments("1: a\ntrue: b\n0x10: c\n1.5: d\n~: e\n'2': f\nno: g\n").first)
        #expect(document.value == ["1": "a", "true": "b", "16": "c", "1.5": "d", "null": "e", "2": "f", "false": "g"])
        // As with kubectl, `yes` and `true` are the same key.
        #expect(throws: YAMLError(line: 2, column: 1, message: "mapping key \"true\" already defined at line 1")) {
            try YAML.parseDocuments("true: 1\nyes: 2\n")
        }
    }

    @Test("a duplicate key is an error naming the first definition")
    func duplicateKey() {
        #expect(throws: YAMLError(line: 4, column: 3, message: "mapping key \"x\" already defined at line 2")) {
            try YAML.parseDocuments("a:\n  x: 1\n  y: 2\n  x: 3\n")
        }
    }

    @Test("positions of nodes, by path")
    func positions() throws {
        let document = try #require(try YAML.parseDocuments("""
            ---
            apiVersion: routelet.dev/v1alpha1
            spec:
              routes:
              - destination: 10.0.0.0/8
                metric: 5
              - {destination: 10.0.0.1/8, metric: 6}
            """).first)
        #expect(document.startLine == 1)
        #expect(document.position(of: [.key("apiVersion")]) == Position(line: 2, column: 13))
        #expect(document.position(of: [.key("spec"), .key("routes"), .index(0), .key("metric")]) == Position(line: 6, column: 13))
        #expect(document.position(ofPath: "spec.routes[1].destination") == Position(line: 7, column: 19))
        #expect(document.position(ofPath: "spec.routes[1]") == Position(line: 7, column: 5))
        #expect(document.position(ofPath: "spec.routes[2]") == nil)
        #expect(document.position(ofPath: "spec.routes[1].gateway") == nil)
        #expect(document.nearestPosition(of: PathComponent.components(of: "spec.routes[1].gateway")) == Position(line: 7, column: 5))
    }

    @Test func pathComponentsParse() {
        #expect(PathComponent.components(of: "spec.routes[3].nexthops[0].gateway")
            == [.key("spec"), .key("routes"), .index(3), .key("nexthops"), .index(0), .key("gateway")])
        #expect(PathComponent.components(of: "a[1][2]") == [.key("a"), .index(1), .index(2)])
        #expect(PathComponent.components(of: "") == [])
    }

    @Test("nesting deeper than maxDepth is an error, not a crash")
    func nestingLimit() throws {
        #expect(throws: YAMLError(line: 1, column: 4, message: "collections nest deeper than 3 levels")) {
            try YAML.parseDocuments("[[[[1]]]]", maxDepth: 3)
        }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: YAMLError.self) { try YAML.parseDocuments(deep) }
        #expect(try YAML.parseDocuments("[[[1]]]", maxDepth: 3).count == 1)
    }

    @Test("an alias cannot nest a value deeper than maxDepth")
    func aliasNestingLimit() {
        #expect(throws: YAMLError(line: 2, column: 6, message: "alias *d nests deeper than 3 levels")) {
            try YAML.parseDocuments("a: &d [[1]]\nb: [[*d]]\n", maxDepth: 3)
        }
    }

    @Test("billion laughs is rejected by the node limit")
    func billionLaughs() {
        var text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 {
            let previous = "*a\(level - 1)"
            text += "a\(level): &a\(level) [\(Array(repeating: previous, count: 9).joined(separator: ", "))]\n"
        }
        #expect(throws: YAMLError.self) { try YAML.parseDocuments(text) }
        do {
            _ = try YAML.parseDocuments(text, maxNodes: 10_000)
            Issue.record("billion laughs was accepted")
        } catch {
            #expect(error.message.contains("more than 10000 nodes"), "\(error)")
        }
        #expect(throws: Never.self) { try YAML.parseDocuments("a: &x [1, 2]\nb: [*x, *x]\n", maxNodes: 13) }
        #expect(throws: YAMLError.self) { try YAML.parseDocuments("a: &x [1, 2]\nb: [*x, *x]\n", maxNodes: 12) }
    }

    @Test("UTF-16 with a byte order mark is read")
    func utf16Input() throws {
        let bytes: [UInt8] = [0xFF, 0xFE] + "a: é\n".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        #expect(try YAML.parseDocuments(bytes: bytes).first?.value == ["a": "é"])
    }
}
