import KubeClient
import Testing

/// The watch framing: whatever the pieces, the same lines, and a line too
/// long stops the stream.
@Suite struct LineFramerTests {
    static let stream = Array("{\"type\":\"ADDED\"}\n\n{\"type\":\"MODIFIED\",\"object\":{}}\r\n\(String(repeating: "x", count: 300))\n{\"last\":1}".utf8)
    static let lines = [#"{"type":"ADDED"}"#, "{\"type\":\"MODIFIED\",\"object\":{}}\r", String(repeating: "x", count: 300), #"{"last":1}"#]

    @Test(arguments: [1, 2, 3, 7, 64, 1000])
    func piecesOfAnySizeGiveTheSameLines(_ piece: Int) {
        var framer = LineFramer(maxLineBytes: 1000)
        var lines: [String] = []
        var start = 0
        while start < Self.stream.count {
            #expect(framer.append(Self.stream[start..<min(start + piece, Self.stream.count)]) { lines.append(String(decoding: $0, as: UTF8.self)) })
            start += piece
        }
        framer.finish { lines.append(String(decoding: $0, as: UTF8.self)) }
        #expect(lines == Self.lines, "pieces of \(piece)")
    }

    @Test func aLineLongerThanTheLimitStopsTheStream() {
        var framer = LineFramer(maxLineBytes: 100)
        #expect(framer.append(Array(repeating: UInt8(ascii: "x"), count: 100)) { _ in })
        #expect(!framer.append([UInt8(ascii: "x")]) { _ in })
    }
}
