import RouteletAPI
import Testing

@Suite struct FieldSelectorTests {
    @Test("kubectl describe's selector parses: empty values, escapes, all three operators")
    func parsesWhatKubectlSends() throws {
        let selector = try FieldSelector.parse(
            "involvedObject.kind=RouteTable,involvedObject.name=edge,involvedObject.namespace=,involvedObject.uid=6f1c")
        #expect(selector.requirements == [
            .init(field: "involvedObject.kind", operator: .equals, value: "RouteTable"),
            .init(field: "involvedObject.name", operator: .equals, value: "edge"),
            .init(field: "involvedObject.namespace", operator: .equals, value: ""),
            .init(field: "involvedObject.uid", operator: .equals, value: "6f1c"),
        ])
        let fields = ["involvedObject.kind": "RouteTable", "involvedObject.name": "edge", "involvedObject.uid": "6f1c"]
        #expect(selector.matches { fields[$0] ?? "" })
        #expect(!selector.matches { $0 == "involvedObject.namespace" ? "default" : fields[$0] ?? "" })

        let operators = try FieldSelector.parse("a==1,b!=2,,c=x\\,y\\=z\\\\")
        #expect(operators.requirements == [
            .init(field: "a", operator: .equals, value: "1"),
            .init(field: "b", operator: .notEquals, value: "2"),
            .init(field: "c", operator: .equals, value: "x,y=z\\"),
        ])
        #expect(operators.description == "a=1,b!=2,c=x\\,y\\=z\\\\")
        #expect(try FieldSelector.parse(operators.description) == operators)
        #expect(operators.matches { ["a": "1", "b": "3", "c": "x,y=z\\"][$0] ?? "" })
        #expect(!operators.matches { ["a": "1", "b": "2", "c": "x,y=z\\"][$0] ?? "" })
        #expect(try FieldSelector.parse("").isEmpty)
        #expect(try FieldSelector.parse(",").isEmpty)
    }

    static let malformed: [(String, String)] = [
        ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
        ("a=1,b", "invalid selector: 'a=1,b'; can't understand 'b'"),
        ("a=b=c", #"invalid field selector: unescaped character in value: '=' (write it as "\=")"#),
        ("a==b=c", #"invalid field selector: unescaped character in value: '=' (write it as "\=")"#),
        ("a=\\x", "invalid field selector: invalid escape sequence: \\x"),
        ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
        ("!", "invalid selector: '!'; can't understand '!'"),
    ]

    @Test("malformed selectors are refused with Kubernetes' wording", arguments: malformed)
    func malformedInput(text: String, message: String) {
        #expect(throws: FieldSelector.ParseError(message: message)) { try FieldSelector.parse(text) }
    }

    @Test("the field label is kept as written, so that ' a' is not 'a'")
    func fieldIsNotTrimmed() throws {
        #expect(try FieldSelector.parse(" a=b").requirements.first?.field == " a")
        #expect(try FieldSelector.parse("=b").requirements.first?.field == "")
    }
}
