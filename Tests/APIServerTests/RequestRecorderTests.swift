@testable import APIServer
import Foundation
import Testing

@Suite struct RequestRecorderTests {
    @Test func aRestartedServerAppendsToTheRequestLog() throws {
        let path = NSTemporaryDirectory() + "rl-requests-\(UInt32.random(in: 0...UInt32.max)).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let resource = try #require(ResourceType.builtins.first)
        try RequestRecorder(path: path).record(verb: "get", resource: resource, subresource: nil, namespace: nil, name: "a", userAgent: "first")
        try RequestRecorder(path: path).record(verb: "get", resource: resource, subresource: nil, namespace: nil, name: "b", userAgent: "second")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2 && lines[0].contains("\"first\"") && lines[1].contains("\"second\""), "\(lines)")
    }
}
