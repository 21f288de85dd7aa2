import Foundation
import Synchronization

/// Reads a process's JSON log (one object per line, as `--log-format json`
/// writes it) from a pipe on a thread of its own, and keeps every line:
/// how tests and benchmarks watch what `routelet agent` did.
public final class JSONLogReader: Sendable {
    private let lines = Mutex<[[String: String]]>([])
    private let raw = Mutex<[String]>([])
    private let done = DispatchSemaphore(value: 0)

    /// Starts reading `pipe` until it closes.
    public init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Data(pending[pending.startIndex..<newline])
                    pending = Data(pending[pending.index(after: newline)...])
                    raw.withLock { $0.append(String(decoding: line, as: UTF8.self)) }
                    if let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any] {
                        lines.withLock { $0.append(object.mapValues { "\($0)" }) }
                    }
                }
            }
            done.signal()
        }
    }

    /// Every JSON line so far, its values as text.
    public var log: [[String: String]] { lines.withLock { $0 } }

    /// Everything read so far, for failure messages.
    public var text: String { raw.withLock { $0.joined(separator: "\n") } }

    /// The lines whose "msg" is `message`.
    public func entries(_ message: String) -> [[String: String]] { log.filter { $0["msg"] == message } }

    /// Waits until the pipe has closed (the writer exited).
    public func waitForEnd() {
        done.wait()
        done.signal()
    }
}
