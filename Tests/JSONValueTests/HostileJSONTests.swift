import Foundation
import Testing
import JSONValue

@Test("JSON nested 100,000 levels deep is rejected with an error, not a stack overflow",
      arguments: ["[", #"{"a":"#])
func deepNestingIsRejected(opener: String) {
    let closer = opener == "[" ? "]" : "}"
    let levels = 100_000
    let text = String(repeating: opener, count: levels) + (opener == "[" ? "" : "1") + String(repeating: closer, count: levels)
    #expect(throws: (any Error).self) { try JSONValue(jsonData: Data(text.utf8)) }
}

@Test("the parser accepts 512 levels of nesting and rejects 513")
func nestingLimitIs512() throws {
    // Foundation's parser enforces this limit; JSON Patch uses the same one.
    func nested(_ levels: Int) -> Data { Data((String(repeating: "[", count: levels) + String(repeating: "]", count: levels)).utf8) }
    let value = try JSONValue(jsonData: nested(512))
    var depth = 0
    var current: JSONValue? = value
    while let array = current?.arrayValue {
        depth += 1
        current = array.first
    }
    #expect(depth == 512)
    #expect(throws: (any Error).self) { try JSONValue(jsonData: nested(513)) }
}

@Test("invalid UTF-8, empty input, trailing garbage and lone surrogates are errors",
      arguments: [
        Data([0x22, 0xFF, 0xFE, 0x22]),
        Data([0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D]),
        Data(),
        Data("{} x".utf8),
        Data(#""\ud800""#.utf8),
        Data("{\"a\":}".utf8),
      ])
func malformedTextIsAnError(data: Data) {
    #expect(throws: (any Error).self, "\(Array(data.prefix(16)))") { try JSONValue(jsonData: data) }
}

@Test("a trailing comma in an array is tolerated by Foundation's parser")
func trailingCommaIsTolerated() throws {
    // Not strict JSON; pinned so a change in Foundation is noticed.
    #expect(try json("[1,]") == [1])
}

@Test("a bare scalar at the top level is a value")
func topLevelScalars() throws {
    #expect(try json("42") == 42)
    #expect(try json(#""x""#) == "x")
    #expect(try json("null") == nil)
    #expect(try json("true") == true)
    #expect(try json(" 2.5 ") == 2.5)
}

@Test("a 3 MiB string parses whole")
func largeString() throws {
    let count = 3 << 20
    let value = try json("\"" + String(repeating: "a", count: count) + "\"")
    #expect(value.stringValue?.utf8.count == count)
}

@Test("duplicate keys do not fail: the parser keeps the first value")
func duplicateKeys() throws {
    #expect(try json(#"{"a":1,"a":2,"a":3}"#) == ["a": 1])
}

@Test("numbers at the edges give a value or an error")
func edgeNumbers() throws {
    #expect(try json("9223372036854775807") == .integer(.max))
    #expect(try json("-9223372036854775808") == .integer(.min))
    // One past Int64 falls back to a (rounded) double.
    #expect(try json("9223372036854775808") == .double(9_223_372_036_854_775_808))
    // One below rounds to Int64.min itself, an integer.
    #expect(try json("-9223372036854775809") == .integer(.min))
    // -0 loses its sign: the decoder offers it as the integer 0 first.
    #expect(try json("-0") == .integer(0))
    #expect(try json("-0.0").doubleValue == 0)
    // Underflow rounds to zero; overflow cannot be represented and is an error.
    #expect(try json("1e-400").doubleValue == 0)
    #expect(throws: (any Error).self) { try json("1e400") }
    #expect(throws: (any Error).self) { try json("-1e400") }
    #expect(throws: (any Error).self) { try json(String(repeating: "9", count: 400)) }
}

@Test("what parses prints and parses back to the same value, big integral doubles too (found by make fuzz)",
      arguments: ["-3222222222222222222.5", "3e18", "1.0", "-1e3", "0.1", "1e19", "-0.0", "9007199254740993", "4611686018427387904.7", "[1.5e300, 2e-300]"])
func roundTrips(_ text: String) throws {
    let value = try json(text)
    let printed = try value.jsonData()
    let again = try JSONValue(jsonData: printed)
    #expect(again == value, "\(text) parses to \(value), which prints as \(String(decoding: printed, as: UTF8.self)) and parses to \(again)")
}

@Test("an integral double made in code prints its exact digits")
func integralDoublesPrintAsIntegers() throws {
    #expect(String(decoding: try JSONValue.double(-3_222_222_222_222_222_336).jsonData(), as: UTF8.self) == "-3222222222222222336")
    #expect(String(decoding: try JSONValue.double(2.5).jsonData(), as: UTF8.self) == "2.5")
    #expect(String(decoding: try JSONValue.double(1e19).jsonData(), as: UTF8.self) == "1e+19")
}

@Test("hostile documents survive JSON Patch, merge patch and JSONPath")
func hostileValuesThroughTheAPIs() throws {
    var deep: JSONValue = "leaf"
    for _ in 0..<500 { deep = ["a": deep] }
    let pointer = "/" + Array(repeating: "a", count: 500).joined(separator: "/")
    let patch: JSONValue = [["op": "test", "path": .string(pointer), "value": "leaf"]]
    #expect(try deep.applyingJSONPatch(patch) == deep)
    let tooLong: JSONValue = [["op": "add", "path": .string(pointer + String(repeating: "/a", count: 100_000)), "value": 1]]
    #expect(throws: JSONPatchError.self) { try deep.applyingJSONPatch(tooLong) }
    #expect(deep.mergePatched(with: deep) == deep)
    #expect(try JSONPath("$" + String(repeating: ".a", count: 500)).evaluate(deep) == ["leaf"])
}
