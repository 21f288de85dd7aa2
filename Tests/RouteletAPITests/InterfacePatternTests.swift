import RouteletAPI
import Testing

@Suite struct InterfacePatternTests {
    /// (pattern, name, matches) with fnmatch(3) semantics (FNM_NOESCAPE).
    static let cases: [(String, String, Bool)] = [
        ("eth0", "eth0", true), ("eth0", "eth01", false), ("eth0", "eth", false),
        ("eth*", "eth", true), ("eth*", "eth12", true), ("eth*", "veth1", false), ("*", "", true), ("*", "anything", true),
        ("*eth*", "veth1", true), ("v*h*1", "veth1", true), ("v*h*1", "veth2", false), ("a*b*c", "aXbYbZc", true), ("a*b", "ab", true),
        ("eth?", "eth1", true), ("eth?", "eth", false), ("eth?", "eth10", false), ("??", "ab", true),
        ("eth[0-3]", "eth2", true), ("eth[0-3]", "eth4", false), ("eth[013]", "eth1", true), ("eth[013]", "eth2", false),
        ("eth[!0-3]", "eth4", true), ("eth[!0-3]", "eth1", false), ("eth[^0]", "eth1", true),
        ("[]a]x", "]x", true), ("[]a]x", "ax", true), ("[a-]x", "-x", true), ("[!]]", "a", true), ("[!]]", "]", false),
        ("eth]", "eth]", true), ("veth*[0-9]", "veth1a2", true), ("veth*[0-9]", "veth1a", false),
        ("*.100", "eth0.100", true), ("br-*", "br-1a2b", true), ("*?", "", false),
    ]

    @Test("globs match as fnmatch does", arguments: cases)
    func globMatching(pattern: String, name: String, expected: Bool) throws {
        let compiled = try #require(InterfacePattern(pattern))
        #expect(compiled.matches(name) == expected)
    }

    @Test func exactNamesAreNotGlobs() throws {
        #expect(try #require(InterfacePattern("eth0")).isGlob == false)
        #expect(try #require(InterfacePattern("eth]")).isGlob == false)
        #expect(try #require(InterfacePattern("e*")).isGlob)
        #expect(InterfacePattern.exactNameProblem("eth0") == nil)
        #expect(InterfacePattern.exactNameProblem("eth]")?.code == .globNotAllowed)
    }

    static let invalid: [(String, InterfacePattern.ParseError.Code)] = [
        ("", .empty), ("abcdefghijklmnop", .tooLong), ("a/b", .forbiddenCharacter), ("a b", .forbiddenCharacter),
        ("a\tb", .forbiddenCharacter), ("a\u{1}", .forbiddenCharacter), ("a:1", .forbiddenCharacter), (".", .reservedName),
        ("..", .reservedName), ("eth[", .unclosedBracket), ("eth[]", .unclosedBracket), ("eth[!]", .unclosedBracket),
        ("eth[b-a]", .reversedRange), ("ééééééééé", .tooLong),
    ]

    @Test("invalid names and patterns are rejected", arguments: invalid)
    func invalidPatterns(text: String, code: InterfacePattern.ParseError.Code) {
        guard case .failure(let error) = InterfacePattern.parse(text) else {
            Issue.record("\(text.debugDescription) was accepted")
            return
        }
        #expect(error.code == code, "\(error.message)")
    }

    @Test func fifteenBytesIsTheLimit() {
        #expect(InterfacePattern(String(repeating: "a", count: 15)) != nil)
        #expect(InterfacePattern(String(repeating: "a", count: 16)) == nil)
    }
}
