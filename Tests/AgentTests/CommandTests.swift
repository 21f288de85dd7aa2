import Foundation
import NetLab
import Testing

/// Children of test and benchmark code, which runs on Swift concurrency's
/// threads (most signals blocked there), must still stop on SIGTERM.
@Suite struct CommandTests {
    @Test func aBackgroundCommandStartedFromAnAsyncContextStopsOnSIGTERM() async throws {
        let sleeper = try Command.start(["sleep", "30"])
        let status = try String(contentsOfFile: "/proc/\(sleeper.pid)/status", encoding: .utf8)
        let blocked = status.split(separator: "\n").first { $0.hasPrefix("SigBlk:") }?.split(separator: "\t").last
        #expect(blocked.map(String.init) == "0000000000000000", "signals blocked in the child: \(String(describing: blocked))")
        let started = ContinuousClock.now
        let result = sleeper.stop()
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(result.status == SIGTERM)
    }
}
