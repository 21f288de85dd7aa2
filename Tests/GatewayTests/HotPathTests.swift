import AccessLog
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import Gateway

/// The pieces that run on every request, rewritten for speed: each checked
/// against what the slow, obvious version gave.
extension GatewaySuite {
    @Suite struct HotPathTests {
        @Test func anAccessLogLineIsValidJSONWithEveryFieldAndEscape() throws {
            let entry = AccessLogEntry(
                time: Date(timeIntervalSince1970: 1_748_779_200.1239), listener: "198.51.100.11:80", namespace: "shop",
                route: "users", ruleIndex: 2, method: "GET", host: "api.example.com", path: "/users/\"42\"\\x\u{1}\u{7F}é",
                status: 200, backend: "10.0.0.1:8080", durationSeconds: 0.0123456, bytesReceived: 0, bytesSent: 1_234_567,
                headers: [("x-user-role", "admin\tops\n"), ("x-region", String(repeating: "€", count: 100))])
            let line = entry.jsonLine
            #expect(line.hasPrefix("{\"time\":\"2025-06-01T12:00:00.123Z\",\"source\":\"gateway\","))
            #expect(line.contains("\"duration_ms\":12.346,"))
            #expect(line.contains("\\u0001\\u007f"))
            let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["path"] as? String == "/users/\"42\"\\x\u{1}\u{7F}é")
            #expect(object["rule"] as? Int == 2)
            #expect(object["bytes_sent"] as? Int == 1_234_567)
            let headers = try #require(object["headers"] as? [String: String])
            #expect(headers["x-user-role"] == "admin\tops\n")
            // 100 three-byte characters cut to the 85 that fit in 256 bytes.
            #expect(headers["x-region"] == String(repeating: "€", count: 85))
            #expect(entry.jsonBytes(newline: true) == Array((line + "\n").utf8))
        }

        @Test func durationsAndTimesFormatLikePrintf() {
            for seconds in [0, 0.000_000_4, 0.000_6, 0.999_999_6, 1.5, 12.345_678, 3_600.25] {
                var line = JSONLine()
                line.milliseconds(seconds)
                #expect(String(decoding: line.bytes, as: UTF8.self) == String(format: "%.3f", seconds * 1000), "\(seconds)")
            }
            var line = JSONLine()
            line.rfc3339(Date(timeIntervalSince1970: 0))
            #expect(String(decoding: line.bytes, as: UTF8.self) == "1970-01-01T00:00:00.000Z")
        }

        @Test func hopByHopNamesMatchWhateverTheirCase() {
            var headers = HTTPHeaders()
            headers.add(name: "CONNECTION", value: "keep-alive, X-Secret")
            headers.add(name: "x-secret", value: "1")
            headers.add(name: "Keep-Alive", value: "timeout=5")
            headers.add(name: "TE", value: "trailers")
            headers.add(name: "PROXY-Authorization", value: "Basic x")
            headers.add(name: "Connectionx", value: "kept: not a hop-by-hop name")
            headers.add(name: "Accept", value: "*/*")
            ProxyHeaders.removeHopByHop(&headers)
            #expect(headers.map(\.name) == ["Connectionx", "Accept"])
        }

        @Test func aDeadlineTimerFiresOnceAtItsLatestDeadlineAndNotWhenDisarmed() async throws {
            let loop = MultiThreadedEventLoopGroup.singleton.next()
            let fired = NIOLockedValueBox<[NIODeadline]>([])
            func firings(reach count: Int) async throws -> NIODeadline? {
                let deadline = NIODeadline.now() + .seconds(5)
                while NIODeadline.now() < deadline {
                    if let at = fired.withLockedValue({ $0.count >= count ? $0[count - 1] : nil }) { return at }
                    try await Task.sleep(for: .milliseconds(10))
                }
                return nil
            }

            let start = NIODeadline.now()
            let timer = try await loop.submit {
                let timer = DeadlineTimer(eventLoop: loop) { fired.withLockedValue { $0.append(.now()) } }
                timer.arm(in: .milliseconds(100))
                timer.arm(in: .milliseconds(400))  // moved later: fires at 400, not at 100
                return UncheckedBox(timer)
            }.get()
            let first = try #require(try await firings(reach: 1))
            #expect(first - start >= .milliseconds(400))
            try await Task.sleep(for: .milliseconds(300))
            #expect(fired.withLockedValue { $0.count } == 1)

            let rearmed = NIODeadline.now()
            try await loop.submit {
                timer.value.arm(in: .seconds(3))
                timer.value.arm(in: .milliseconds(50))  // moved earlier: fires at 50, long before 3 s
            }.get()
            let second = try #require(try await firings(reach: 2))
            #expect(second - rearmed < .milliseconds(2500))

            try await loop.submit {
                timer.value.arm(in: .milliseconds(50))
                timer.value.disarm()
            }.get()
            try await Task.sleep(for: .milliseconds(300))
            #expect(fired.withLockedValue { $0.count } == 2)
        }
    }
}

/// Carries an event-loop-confined object out of and back into its loop.
private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
