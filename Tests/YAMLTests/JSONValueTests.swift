import Foundation
import JSONValue
import Testing

@Suite struct JSONValueTests {
    @Test("JSON text round-trips, large integers exactly")
    func roundTrip() throws {
        let value: JSONValue = [
            "big": .integer(.max), "small": .integer(.min), "pi": 3.25, "text": "a/b \"q\"", "flag": false,
            "none": nil, "list": [1, "two", [3]], "nested": ["k": ["z": 1]],
        ]
        let data = try value.jsonData()
        #expect(try JSONValue(jsonData: data) == value)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("9223372036854775807"))
        #expect(text.contains("-9223372036854775808"))
    }

    @Test("encoding sorts keys, whatever the insertion order")
    func sortedKeys() throws {
        let value = JSONValue.object(JSONObject([("b", 1), ("a", 2)]))
        #expect(String(decoding: try value.jsonData(), as: UTF8.self) == #"{"a":2,"b":1}"#)
    }

    @Test func subscriptsAndAccessors() {
        let value: JSONValue = ["list": [10, "x"], "n": 2.0]
        #expect(value["list"]?[0] == 10)
        #expect(value["list"]?[1]?.stringValue == "x")
        #expect(value["list"]?[2] == nil)
        #expect(value["missing"] == nil)
        #expect(value["n"]?.integerValue == 2)
        #expect(value["list"]?["key"] == nil)
    }

    @Test("objects compare by members, not order; insertion order is kept")
    func objectOrder() {
        var object = JSONObject()
        object["z"] = 1
        object["a"] = 2
        object["z"] = 3
        #expect(object.keys == ["z", "a"])
        #expect(object == ["a": 2, "z": 3])
        object["z"] = nil
        #expect(object.keys == ["a"])
    }

    @Test("non-finite numbers cannot be written as JSON")
    func nonFiniteNumbers() {
        #expect(throws: EncodingError.self) { try JSONValue.double(.infinity).jsonData() }
    }
}
