import Testing
import JSONValue

/// RFC 7386 appendix A: original, patch, expected result.
private let rfc7386Examples: [(String, String, String)] = [
    (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
    (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
    (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
    (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
    (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
    (#"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
    (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
    (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
    (#"["a","b"]"#, #"["c","d"]"#, #"["c","d"]"#),
    (#"{"a":"b"}"#, #"["c"]"#, #"["c"]"#),
    (#"{"a":"foo"}"#, #"null"#, #"null"#),
    (#"{"a":"foo"}"#, #""bar""#, #""bar""#),
    (#"{"e":null}"#, #"{"a":1}"#, #"{"e":null,"a":1}"#),
    (#"[1,2]"#, #"{"a":"b","c":null}"#, #"{"a":"b"}"#),
    (#"{}"#, #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
]

@Test("merge patch gives the RFC 7386 appendix A results", arguments: rfc7386Examples)
func mergePatchRFCExamples(original: String, patch: String, expected: String) throws {
    let result = try json(original).mergePatched(with: json(patch))
    #expect(result == (try json(expected)), "\(original) + \(patch) gave \(result)")
}

@Test("a computed merge patch turns the old value into the new one", arguments: rfc7386Examples)
func mergePatchRoundTrip(original: String, patch: String, expected: String) throws {
    let old = try json(original), new = try json(expected)
    // A merge patch cannot set a member to null, so skip targets that contain one.
    guard !new.containsNullMember else { return }
    let computed = JSONValue.mergePatch(from: old, to: new)
    #expect(old.mergePatched(with: computed) == new, "patch \(computed) from \(old) did not give \(new)")
}

@Test("mergePatch(from:to:) is minimal: unchanged members are left out, removed ones are null")
func mergePatchIsMinimal() throws {
    let old = try json(#"{"metadata":{"name":"a","labels":{"x":"1","y":"2"}},"spec":{"port":80}}"#)
    let new = try json(#"{"metadata":{"name":"a","labels":{"x":"1","z":"3"}},"spec":{"port":80}}"#)
    let patch = JSONValue.mergePatch(from: old, to: new)
    #expect(patch == (try json(#"{"metadata":{"labels":{"y":null,"z":"3"}}}"#)))
    #expect(JSONValue.mergePatch(from: old, to: old) == [:])
}

@Test("merge patching keeps the original member order and appends new members")
func mergePatchKeepsOrder() {
    // Built from literals: init(jsonData:) sorts members, so it cannot show order.
    let original: JSONValue = ["b": 1, "a": 2]
    let result = original.mergePatched(with: ["c": 3, "b": 4])
    #expect(result.objectValue?.keys == ["b", "a", "c"])
}

@Test("removingKeys drops nested server-managed fields and ignores missing paths")
func removingKeysDropsNestedMembers() throws {
    let object = try json(#"{"metadata":{"name":"a","resourceVersion":"7","uid":"u"},"status":{"x":1},"spec":[1]}"#)
    let stripped = object.removingKeys([
        ["metadata", "resourceVersion"], ["metadata", "uid"], ["status"], ["metadata", "missing", "deeper"],
        ["spec", "0"], [],
    ])
    #expect(stripped == (try json(#"{"metadata":{"name":"a"},"spec":[1]}"#)))
    #expect(JSONValue.string("x").removingKeys([["a"]]) == "x")
}

extension JSONValue {
    fileprivate var containsNullMember: Bool {
        switch self {
        case .object(let object): object.contains { $0.value.isNull || $0.value.containsNullMember }
        case .array(let array): array.contains { $0.containsNullMember }
        default: false
        }
    }
}
