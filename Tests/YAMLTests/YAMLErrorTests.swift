import Testing
import YAML

@Suite struct YAMLErrorTests {
    /// Malformed input, and the error's description (line, column, message).
    static let malformed: [(String, String)] = [
        ("a: 1\n\tb: 2\n", "line 2, column 1: found a tab character that violates indentation"),
        ("a: \"unterminated\nb: 2\n", "line 3, column 1: found unexpected end of stream"),
        ("a: 'single\n", "line 2, column 1: found unexpected end of stream"),
        ("{a: 1\n", "line 2, column 1: did not find expected ',' or '}'"),
        ("[1, 2\n", "line 2, column 1: did not find expected ',' or ']'"),
        ("a: b: c\n", "line 1, column 5: mapping values are not allowed in this context"),
        ("- a\nb: 1\n", "line 2, column 1: did not find expected '-' indicator"),
        ("a:\n  - x\n  y: 1\n", "line 3, column 3: did not find expected '-' indicator"),
        ("a: *nope\n", "line 1, column 4: alias *nope refers to an undefined anchor"),
        ("a: 1\nb: 2\na: 3\n", "line 3, column 1: mapping key \"a\" already defined at line 1"),
        ("? [a, b]\n: c\n", "line 1, column 3: a mapping key must be a scalar, not a sequence"),
        ("? {a: 1}\n: c\n", "line 1, column 3: a mapping key must be a scalar, not a mapping"),
        ("k: &m {a: 1}\n*m : c\n", "line 2, column 1: a mapping key must be a scalar, not a mapping"),
        ("a: &x\n  b: *x\n", "line 2, column 6: alias *x refers to an undefined anchor"),
        ("key: value\n  bad: indent\n", "line 2, column 6: mapping values are not allowed in this context"),
        ("%YAML 2.0\n---\na: 1\n", "line 1, column 1: found incompatible YAML document"),
        ("a: \"\\q\"\n", "line 1, column 5: found unknown escape character"),
        ("x: 1\n<<: 5\n", "line 2, column 1: a merge key needs a mapping or a sequence of mappings as its value"),
        ("x: 1\n<<: [{a: 1}, 2]\n", "line 2, column 1: a merge key needs a mapping or a sequence of mappings as its value"),
        ("a: b\u{7}\n", "line 1, column 5: control characters are not allowed (byte 0x07)"),
        ("a: 1\n---\nb: [\n", "line 4, column 1: did not find expected node content"),
        ("a:\n  b:\n    c: 1\n   d: 2\n", "line 4, column 4: did not find expected key"),
        ("a: @x\n", "line 1, column 4: found character that cannot start any token"),
        ("a: [1, 2]]\n", "line 1, column 10: did not find expected key"),
        ("a: |\n  x\n b\n", "line 3, column 2: did not find expected key"),
        ("a: 1\n...\nb: 2\n", "line 3, column 1: did not find expected <document start>"),
        ("a: !<!x> 1\n", "line 1, column 4: unknown tag !x"),
    ]

    @Test("malformed input is a YAMLError at the right place", arguments: malformed)
    func malformedInput(input: String, expected: String) {
        do {
            let documents = try YAML.parseDocuments(input)
            Issue.record("\(input.debugDescription) was accepted: \(documents.map(\.value))")
        } catch {
            #expect(error.description == expected, "for \(input.debugDescription)")
        }
    }

    @Test("invalid UTF-8 is a YAMLError at the offending byte")
    func invalidUTF8() {
        let cases: [([UInt8], String)] = [
            (Array("a: b\nc: ".utf8) + [0xFF, 0x0A], "line 2, column 4: invalid leading UTF-8 octet (byte 0xFF)"),
            (Array("a: ".utf8) + [0xC3], "line 1, column 4: incomplete UTF-8 octet sequence"),
            (Array("a: ".utf8) + [0xC3, 0x41, 0x0A], "line 1, column 5: invalid trailing UTF-8 octet (byte 0x41)"),
            (Array("a: ".utf8) + [0xED, 0xA0, 0x80, 0x0A], "line 1, column 4: invalid Unicode character (byte 0xD800)"),
        ]
        for (bytes, expected) in cases {
            do {
                _ = try YAML.parseDocuments(bytes: bytes)
                Issue.record("\(bytes) was accepted")
            } catch {
                #expect(error.description == expected)
            }
        }
    }

    @Test("libyaml's context is kept apart from the message")
    func contextIsSeparate() {
        #expect(throws: YAMLError(
            line: 3, column: 1, message: "found unexpected end of stream",
            context: "while scanning a quoted scalar at line 1, column 4")) {
            try YAML.parseDocuments("a: \"unterminated\nb: 2\n")
        }
    }
}
