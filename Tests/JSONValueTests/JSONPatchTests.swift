import Foundation
import Testing
import JSONValue

/// RFC 6902 appendix A examples that succeed: document, patch, result.
private let rfc6902Successes: [(String, String, String, String)] = [
    ("A.1 adding an object member", #"{"foo":"bar"}"#, #"[{"op":"add","path":"/baz","value":"qux"}]"#,
     #"{"baz":"qux","foo":"bar"}"#),
    ("A.2 adding an array element", #"{"foo":["bar","baz"]}"#, #"[{"op":"add","path":"/foo/1","value":"qux"}]"#,
     #"{"foo":["bar","qux","baz"]}"#),
    ("A.3 removing an object member", #"{"baz":"qux","foo":"bar"}"#, #"[{"op":"remove","path":"/baz"}]"#,
     #"{"foo":"bar"}"#),
    ("A.4 removing an array element", #"{"foo":["bar","qux","baz"]}"#, #"[{"op":"remove","path":"/foo/1"}]"#,
     #"{"foo":["bar","baz"]}"#),
    ("A.5 replacing a value", #"{"baz":"qux","foo":"bar"}"#, #"[{"op":"replace","path":"/baz","value":"boo"}]"#,
     #"{"baz":"boo","foo":"bar"}"#),
    ("A.6 moving a value", #"{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}"#,
     #"[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]"#,
     #"{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}"#),
    ("A.7 moving an array element", #"{"foo":["all","grass","cows","eat"]}"#,
     #"[{"op":"move","from":"/foo/1","path":"/foo/3"}]"#, #"{"foo":["all","cows","eat","grass"]}"#),
    ("A.8 testing a value: success", #"{"baz":"qux","foo":["a",2,"c"]}"#,
     #"[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]"#,
     #"{"baz":"qux","foo":["a",2,"c"]}"#),
    ("A.10 adding a nested member object", #"{"foo":"bar"}"#,
     #"[{"op":"add","path":"/child","value":{"grandchild":{}}}]"#, #"{"foo":"bar","child":{"grandchild":{}}}"#),
    ("A.11 ignoring unrecognized elements", #"{"foo":"bar"}"#,
     #"[{"op":"add","path":"/baz","value":"qux","xyz":123}]"#, #"{"foo":"bar","baz":"qux"}"#),
    ("A.14 ~ escape ordering", #"{"/":9,"~1":10}"#, #"[{"op":"test","path":"/~01","value":10}]"#,
     #"{"/":9,"~1":10}"#),
    ("A.16 adding an array value", #"{"foo":["bar"]}"#, #"[{"op":"add","path":"/foo/-","value":["abc","def"]}]"#,
     #"{"foo":["bar",["abc","def"]]}"#),
]

@Test("JSON patch gives the RFC 6902 appendix A results", arguments: rfc6902Successes)
func jsonPatchRFCExamples(name: String, document: String, patch: String, expected: String) throws {
    let result = try json(document).applyingJSONPatch(json(patch))
    #expect(result == (try json(expected)), "\(name): got \(result)")
}

/// RFC 6902 appendix A examples that must fail, with the error expected.
private let rfc6902Failures: [(String, String, String, JSONPatchError.Code)] = [
    ("A.9 testing a value: error", #"{"baz":"qux"}"#, #"[{"op":"test","path":"/baz","value":"bar"}]"#, .testFailed),
    ("A.12 adding to a nonexistent target", #"{"foo":"bar"}"#, #"[{"op":"add","path":"/baz/bat","value":"qux"}]"#,
     .pathNotFound),
    ("A.15 comparing strings and numbers", #"{"/":9,"~1":10}"#, #"[{"op":"test","path":"/~01","value":"10"}]"#,
     .testFailed),
]

@Test("JSON patch rejects the RFC 6902 appendix A error cases", arguments: rfc6902Failures)
func jsonPatchRFCErrors(name: String, document: String, patch: String, code: JSONPatchError.Code) throws {
    let error = try #require(throws: JSONPatchError.self, "\(name) must fail") {
        try json(document).applyingJSONPatch(json(patch))
    }
    #expect(error.code == code, "\(name): \(error)")
    #expect(error.operationIndex == 0)
}

@Test("A.13: a duplicate \"op\" cannot reach the patch; the parser keeps the first and the result is an add")
func jsonPatchDuplicateOpKeepsFirst() throws {
    // RFC 6902 says this document is invalid, but duplicate members are
    // collapsed by the JSON parser before a JSONValue exists. Pin what happens.
    let patch = try json(#"[{"op":"add","path":"/baz","value":"qux","op":"remove"}]"#)
    #expect(patch[0]?["op"] == "add")
    #expect(try json(#"{"foo":"bar"}"#).applyingJSONPatch(patch) == (try json(#"{"foo":"bar","baz":"qux"}"#)))
}

@Test("a failed error case names the operation, op, path and reason")
func jsonPatchErrorContext() throws {
    let patch = try json(#"[{"op":"add","path":"/a","value":1},{"op":"test","path":"/a","value":2}]"#)
    let error = try #require(throws: JSONPatchError.self) { try JSONValue.object([:]).applyingJSONPatch(patch) }
    #expect(error == JSONPatchError(code: .testFailed, operationIndex: 1, op: "test", path: "/a",
                                    reason: "found 1, expected 2"))
    #expect(error.description == "JSON patch operation 1 (test \"/a\"): found 1, expected 2")
}

/// Malformed patches on the document below: patch text, expected error code, and
/// the path the error should name.
private let malformedPatches: [(String, JSONPatchError.Code, String?)] = [
    (#"{"op":"add","path":"/a","value":1}"#, .notAnArrayOfOperations, nil),
    (#""add""#, .notAnArrayOfOperations, nil),
    (#"null"#, .notAnArrayOfOperations, nil),
    (#"[5]"#, .malformedOperation, nil),
    (#"[[]]"#, .malformedOperation, nil),
    (#"[{"op":5,"path":"/a"}]"#, .malformedOperation, nil),
    (#"[{"path":"/a","value":1}]"#, .malformedOperation, nil),
    (#"[{"op":"frobnicate","path":"/a"}]"#, .malformedOperation, nil),
    (#"[{"op":"add","value":1}]"#, .malformedOperation, nil),
    (#"[{"op":"add","path":7,"value":1}]"#, .malformedOperation, nil),
    (#"[{"op":"add","path":"/new"}]"#, .malformedOperation, "/new"),
    (#"[{"op":"replace","path":"/a"}]"#, .malformedOperation, "/a"),
    (#"[{"op":"test","path":"/a"}]"#, .malformedOperation, "/a"),
    (#"[{"op":"move","path":"/a"}]"#, .malformedOperation, "/a"),
    (#"[{"op":"copy","path":"/a","from":["x"]}]"#, .malformedOperation, "/a"),
    (#"[{"op":"add","path":"a","value":1}]"#, .invalidPointer, "a"),
    (#"[{"op":"add","path":"/a~2","value":1}]"#, .invalidPointer, "/a~2"),
    (#"[{"op":"add","path":"/a~","value":1}]"#, .invalidPointer, "/a~"),
    (#"[{"op":"copy","path":"/b","from":"a"}]"#, .invalidPointer, "a"),
    (#"[{"op":"remove","path":"/list/01"}]"#, .invalidArrayIndex, "/list/01"),
    (#"[{"op":"add","path":"/list/01","value":1}]"#, .invalidArrayIndex, "/list/01"),
    (#"[{"op":"add","path":"/list/x","value":1}]"#, .invalidArrayIndex, "/list/x"),
    (#"[{"op":"replace","path":"/list/-1","value":1}]"#, .invalidArrayIndex, "/list/-1"),
    (#"[{"op":"add","path":"/list/4","value":1}]"#, .indexOutOfRange, "/list/4"),
    (#"[{"op":"remove","path":"/list/3"}]"#, .indexOutOfRange, "/list/3"),
    (#"[{"op":"remove","path":"/list/-"}]"#, .indexOutOfRange, "/list/-"),
    (#"[{"op":"remove","path":"/list/99999999999999999999999999"}]"#, .indexOutOfRange,
     "/list/99999999999999999999999999"),
    (#"[{"op":"add","path":"/list/9223372036854775807","value":1}]"#, .indexOutOfRange,
     "/list/9223372036854775807"),
    (#"[{"op":"remove","path":"/missing"}]"#, .pathNotFound, "/missing"),
    (#"[{"op":"replace","path":"/missing","value":1}]"#, .pathNotFound, "/missing"),
    (#"[{"op":"add","path":"/a/b","value":1}]"#, .pathNotFound, "/a/b"),
    (#"[{"op":"test","path":"/a/b/c","value":1}]"#, .pathNotFound, "/a/b/c"),
    (#"[{"op":"copy","path":"/b","from":"/missing"}]"#, .pathNotFound, "/missing"),
    (#"[{"op":"move","path":"/b","from":"/missing"}]"#, .pathNotFound, "/missing"),
    (#"[{"op":"move","path":"/obj/child","from":"/obj"}]"#, .malformedOperation, "/obj/child"),
    (#"[{"op":"move","path":"/list/0/x","from":"/list"}]"#, .malformedOperation, "/list/0/x"),
    (#"[{"op":"remove","path":""}]"#, .malformedOperation, ""),
]

@Test("malformed patches throw a described error instead of crashing", arguments: malformedPatches)
func jsonPatchMalformed(patch: String, code: JSONPatchError.Code, path: String?) throws {
    let document = try json(#"{"a":1,"list":[1,2,3],"obj":{"k":"v"}}"#)
    let error = try #require(throws: JSONPatchError.self, "\(patch) must fail") {
        try document.applyingJSONPatch(json(patch))
    }
    #expect(error.code == code, "\(patch): \(error)")
    #expect(error.path == path, "\(patch): \(error)")
    #expect(!error.description.isEmpty)
}

@Test("a failing patch is atomic: earlier operations are not applied")
func jsonPatchIsAtomic() throws {
    let document = try json(#"{"a":1}"#)
    let patch = try json(#"[{"op":"add","path":"/b","value":2},{"op":"remove","path":"/zzz"}]"#)
    #expect(throws: JSONPatchError.self) { try document.applyingJSONPatch(patch) }
    #expect(document == (try json(#"{"a":1}"#)))
}

@Test("the whole document can be replaced, tested and added at the empty pointer")
func jsonPatchRootOperations() throws {
    let document = try json(#"{"a":1}"#)
    #expect(try document.applyingJSONPatch(json(#"[{"op":"replace","path":"","value":[1]}]"#)) == [1])
    #expect(try document.applyingJSONPatch(json(#"[{"op":"add","path":"","value":null}]"#)) == nil)
    #expect(try document.applyingJSONPatch(json(#"[{"op":"test","path":"","value":{"a":1.0}}]"#)) == document)
    #expect(try document.applyingJSONPatch(json(#"[]"#)) == document)
}

@Test("move, copy, add with \"-\" and null values behave per RFC 6902")
func jsonPatchMoveCopyDetails() throws {
    let document = try json(#"{"a":{"b":[1,2]},"c":null}"#)
    let patch = try json(#"""
        [{"op":"copy","from":"/a/b","path":"/a/b/-"},
         {"op":"move","from":"/a","path":"/a"},
         {"op":"move","from":"/a/b/0","path":"/first"},
         {"op":"test","path":"/c","value":null},
         {"op":"add","path":"/c","value":{"x":null}},
         {"op":"replace","path":"/a/b/0","value":false}]
        """#)
    let expected = try json(#"{"a":{"b":[false,[1,2]]},"c":{"x":null},"first":1}"#)
    #expect(try document.applyingJSONPatch(patch) == expected)
}

@Test("test compares numbers by value and objects without regard to member order")
func jsonPatchTestEquality() throws {
    let document: JSONValue = ["n": 1, "o": ["x": 1, "y": [2.5, "s"]]]
    let patch: JSONValue = [
        ["op": "test", "path": "/n", "value": 1.0],
        ["op": "test", "path": "/o", "value": ["y": [2.5, "s"], "x": 1]],
    ]
    #expect(try document.applyingJSONPatch(patch) == document)
    let mismatch: JSONValue = [["op": "test", "path": "/o", "value": ["x": 1]]]
    #expect(throws: JSONPatchError.self) { try document.applyingJSONPatch(mismatch) }
}

@Test("JSON pointers unescape ~1 and ~0 in that order and keep empty tokens")
func jsonPointerEscapes() throws {
    #expect(try JSONPointer("").tokens == [])
    #expect(try JSONPointer("/").tokens == [""])
    #expect(try JSONPointer("/a~1b/m~0n/~01/c%d/ /").tokens == ["a/b", "m~n", "~1", "c%d", " ", ""])
    #expect(JSONPointer(tokens: ["a/b", "~1"]).description == "/a~1b/~01")
    #expect(throws: JSONPointerError.self) { try JSONPointer("a") }
    #expect(throws: JSONPointerError.self) { try JSONPointer("/~") }

    // RFC 6901 section 5.
    let document = try json(#"{"foo":["bar","baz"],"":0,"a/b":1,"c%d":2,"e^f":3,"g|h":4,"i\\j":5,"k\"l":6," ":7,"m~n":8}"#)
    let cases: [(String, JSONValue)] = [
        ("/foo", ["bar", "baz"]), ("/foo/0", "bar"), ("/", 0), ("/a~1b", 1), ("/c%d", 2), ("/e^f", 3),
        ("/g|h", 4), ("/i\\j", 5), ("/k\"l", 6), ("/ ", 7), ("/m~0n", 8),
    ]
    for (pointer, expected) in cases {
        #expect(document[try JSONPointer(pointer)] == expected, "pointer \(pointer)")
    }
    #expect(document[try JSONPointer("")] == document)
    #expect(document[try JSONPointer("/foo/01")] == nil)
    #expect(document[try JSONPointer("/foo/2")] == nil)
}

@Test("a patch cannot build nesting deeper than the parser accepts")
func jsonPatchDepthLimit() throws {
    // Each copy of /a into its own child adds a level; unchecked, a long
    // patch would build a value deep enough to crash == or deinit.
    let step: JSONValue = ["op": "copy", "from": "/a", "path": "/a/a"]
    let patch = JSONValue.array(Array(repeating: step, count: 600))
    let error = try #require(throws: JSONPatchError.self) {
        try JSONValue.object(["a": [:]]).applyingJSONPatch(patch)
    }
    #expect(error.code == .tooDeep)
    // Operation i leaves i + 3 levels (root, then i + 2 nested "a"), so the
    // first one over the limit is number 510.
    #expect(error.operationIndex == JSONValue.maximumPatchedDepth - 2, "\(error)")

    // Exactly the limit: fine at the root, one level too deep anywhere else.
    var deep: JSONValue = [:]
    for _ in 1..<JSONValue.maximumPatchedDepth { deep = ["x": deep] }
    let addDeep: JSONValue = [["op": "add", "path": "/a", "value": deep]]
    #expect(throws: JSONPatchError.self) { try JSONValue.object([:]).applyingJSONPatch(addDeep) }
    let addAtRoot: JSONValue = [["op": "add", "path": "", "value": deep]]
    #expect(try JSONValue.object([:]).applyingJSONPatch(addAtRoot) == deep)
}
