import JSONValue
import Testing
import YAML

/// Parses `key: <text>` and returns the value of `key`.
private func scalar(_ text: String) throws -> JSONValue? {
    try YAML.parseDocuments("key: \(text)\n").first?.value["key"]
}

@Suite struct YAMLScalarTests {
    static let plainScalars: [(String, JSONValue)] = [
        // null
        ("~", .null), ("null", .null), ("Null", .null), ("NULL", .null), ("", .null), ("nULL", "nULL"),
        // bools, in the spellings go-yaml v2 accepts
        ("true", true), ("True", true), ("TRUE", true), ("yes", true), ("Yes", true), ("YES", true),
        ("on", true), ("On", true), ("ON", true), ("y", true), ("Y", true),
        ("false", false), ("False", false), ("FALSE", false), ("no", false), ("No", false), ("NO", false),
        ("off", false), ("Off", false), ("OFF", false), ("n", false), ("N", false),
        ("tRUE", "tRUE"), ("yEs", "yEs"), ("o", "o"),
        // integers
        ("0", 0), ("42", 42), ("-17", -17), ("+5", 5), ("1_000_000", 1_000_000),
        ("0x1F", 31), ("0X1f", 31), ("-0x10", -16), ("0o17", 15), ("0755", 493), ("0b101", 5), ("-0b101", -5),
        ("9223372036854775807", .integer(.max)), ("-9223372036854775808", .integer(.min)),
        ("9223372036854775808", .double(9223372036854775808)),
        ("18446744073709551615", .double(18446744073709551616.0)),
        ("-9223372036854775809", .double(-9223372036854775808.0)),
        ("0xFFFFFFFFFFFFFFFFFF", "0xFFFFFFFFFFFFFFFFFF"),
        // floats
        ("1.5", 1.5), ("-2.25", -2.25), ("1e3", 1000.0), ("1.5E-2", 0.015), (".5", 0.5), ("+.5", 0.5), ("1.", 1.0),
        ("08", 8.0), ("1_000.5", 1000.5),
        (".inf", .double(.infinity)), (".Inf", .double(.infinity)), ("+.INF", .double(.infinity)), ("-.inf", .double(-.infinity)),
        ("1e400", "1e400"),
        // strings
        ("hello", "hello"), ("1.2.3", "1.2.3"), ("0x", "0x"), ("-x", "-x"), ("+", "+"), (".", "."), ("_1", "_1"),
        ("12abc", "12abc"), ("2024-05-01", "2024-05-01"), ("10.0.0.0/8", "10.0.0.0/8"), ("1:20", "1:20"),
        ("eth*", "eth*"), ("hello world", "hello world"),
    ]

    @Test("plain scalars resolve as go-yaml v2 resolves them", arguments: plainScalars)
    func plainScalarResolution(text: String, expected: JSONValue) throws {
        let value = try scalar(text)
        #expect(value == expected, "\(text.debugDescription) resolved to \(String(describing: value))")
    }

    @Test func nanIsADouble() throws {
        for text in [".nan", ".NaN", ".NAN"] {
            guard case .double(let number)? = try scalar(text) else {
                Issue.record("\(text) did not resolve to a double")
                continue
            }
            #expect(number.isNaN)
        }
    }

    @Test("quoted and block scalars are always strings")
    func quotedAndBlockScalarsAreStrings() throws {
        let document = try #require(try YAML.parseDocuments("""
            a: "123"
            b: 'true'
            c: "~"
            d: |
              10
            e: >
              yes
              no
            f: ''
            """).first)
        #expect(document.value["a"] == "123")
        #expect(document.value["b"] == "true")
        #expect(document.value["c"] == "~")
        #expect(document.value["d"] == "10\n")
        #expect(document.value["e"] == "yes no\n")
        #expect(document.value["f"] == "")
    }

    @Test("explicit tags are honoured")
    func explicitTags() throws {
        let document = try #require(try YAML.parseDocuments("""
            a: !!str 123
            b: !!int "42"
            c: !!float 3
            d: !!bool yes
            e: !!null ~
            f: !!map {x: 1}
            g: !!seq [1]
            h: ! 12
            i: !<tag:yaml.org,2002:int> 0x10
            """).first)
        #expect(document.value["a"] == "123")
        #expect(document.value["b"] == 42)
        #expect(document.value["c"] == .double(3))
        #expect(document.value["d"] == true)
        #expect(document.value["e"] == .null)
        #expect(document.value["f"] == ["x": 1])
        #expect(document.value["g"] == [1])
        #expect(document.value["h"] == "12")
        #expect(document.value["i"] == 16)
    }

    static let badTags: [(String, String)] = [
        ("a: !!int abc", "line 1, column 4: cannot decode !!str \"abc\" as !!int"),
        ("a: !!int 1.5", "line 1, column 4: cannot decode !!float \"1.5\" as !!int"),
        ("a: !!bool 1", "line 1, column 4: cannot decode !!int \"1\" as !!bool"),
        ("a: !!null x", "line 1, column 4: cannot decode !!str \"x\" as !!null"),
        ("a: !!float abc", "line 1, column 4: cannot decode !!str \"abc\" as !!float"),
        ("a: !!map x", "line 1, column 4: !!map cannot be used on a scalar"),
        ("a: !!seq {x: 1}", "line 1, column 4: !!seq cannot be used on a mapping"),
        ("a: !!str [1]", "line 1, column 4: !!str cannot be used on a sequence"),
        ("a: !custom x", "line 1, column 4: unknown tag !custom"),
        ("a: !!binary aGk=", "line 1, column 4: unknown tag !!binary"),
    ]

    @Test("a tag that does not fit the value, or is unknown, is an error", arguments: badTags)
    func badTagsAreErrors(input: String, expected: String) {
        #expect(throws: YAMLError.self) { try YAML.parseDocuments(input) }
        do {
            _ = try YAML.parseDocuments(input)
        } catch {
            #expect(error.description == expected)
        }
    }
}
