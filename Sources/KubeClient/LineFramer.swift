/// The framing of a watch response: one JSON event per line, as the API
/// server streams them (`application/json;stream=watch`). Bytes go in as
/// they arrive, in pieces of any size; complete lines come out, without the
/// newline; empty lines are dropped.
public struct LineFramer: Sendable {
    public let maxLineBytes: Int
    private var pending: [UInt8] = []

    public init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    /// Passes every line that `bytes` completes to `line`. False when the
    /// unfinished line is now longer than `maxLineBytes` (the stream is to
    /// be dropped; nothing more should be appended).
    public mutating func append(_ bytes: some Collection<UInt8>, line: ([UInt8]) -> Void) -> Bool {
        // What was pending holds no newline: only the new bytes are searched
        // (a long event in many pieces is scanned once, not once per piece).
        var searchFrom = pending.endIndex
        pending.append(contentsOf: bytes)
        var start = pending.startIndex
        while let newline = pending[searchFrom...].firstIndex(of: UInt8(ascii: "\n")) {
            if newline > start { line(Array(pending[start..<newline])) }
            start = newline + 1
            searchFrom = start
        }
        pending.removeSubrange(..<start)
        return pending.count <= maxLineBytes
    }

    /// At the end of the stream: the last line, if it had no newline.
    public mutating func finish(line: ([UInt8]) -> Void) {
        if !pending.isEmpty { line(pending) }
        pending.removeAll()
    }
}
