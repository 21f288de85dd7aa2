import CYAML
import JSONValue

/// Reads YAML streams (Kubernetes manifests) into JSON values, resolving
/// scalars the way kubectl does (go-yaml v2, YAML 1.1).
public enum YAML {
    /// The default bound on the number of nodes a stream may expand to,
    /// counting every copy an alias makes.
    public static let defaultMaxNodes = 1_000_000

    /// Parses every document of a stream; documents that are empty (or
    /// just `null`) are skipped, as kubectl skips them.
    ///
    /// - Parameters:
    ///   - maxDepth: collections may nest this deep; deeper is an error.
    ///   - maxNodes: the stream may expand to this many nodes, aliases
    ///     included; more is an error (this stops "billion laughs" inputs).
    public static func parseDocuments(
        _ text: String, maxDepth: Int = 64, maxNodes: Int = defaultMaxNodes
    ) throws(YAMLError) -> [YAMLDocument] {
        try parseDocuments(bytes: Array(text.utf8), maxDepth: maxDepth, maxNodes: maxNodes)
    }

    /// Like ``parseDocuments(_:maxDepth:maxNodes:)`` for raw bytes, which
    /// may be invalid UTF-8 (an error) or UTF-16 with a byte order mark.
    public static func parseDocuments(
        bytes: some Collection<UInt8>, maxDepth: Int = 64, maxNodes: Int = defaultMaxNodes
    ) throws(YAMLError) -> [YAMLDocument] {
        let input = Array(bytes)
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) != 0 else {
            throw YAMLError(line: 1, column: 1, message: "cannot set up the YAML parser (out of memory)")
        }
        defer { yaml_parser_delete(parser) }
        // libyaml keeps pointers to the parser (it must not move) and to the
        // input until it is deleted, so both live in stable storage.
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(input.count, 1))
        defer { buffer.deallocate() }
        _ = buffer.initialize(from: input)
        yaml_parser_set_input_string(parser, buffer.baseAddress, input.count)

        var builder = StreamBuilder(maxDepth: maxDepth, maxNodes: maxNodes)
        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(parser, &event) != 0 else {
                throw parserError(parser.pointee, input: input)
            }
            defer { yaml_event_delete(&event) }
            if event.type == YAML_STREAM_END_EVENT { break }
            try builder.handle(event)
        }
        return builder.documents
    }

    private static func parserError(_ parser: yaml_parser_t, input: [UInt8]) -> YAMLError {
        let problem = parser.problem.map { String(cString: $0) } ?? "cannot parse the YAML text"
        let context = parser.context.map { String(cString: $0) }
        switch parser.error {
        case YAML_MEMORY_ERROR:
            return YAMLError(line: 1, column: 1, message: "out of memory while parsing YAML")
        case YAML_READER_ERROR:
            // Reader errors (bad encoding, control characters) carry a byte
            // offset, not a mark.
            let position = position(ofByte: parser.problem_offset, in: input)
            var message = problem
            if parser.problem_value != -1 {
                let hex = String(parser.problem_value, radix: 16, uppercase: true)
                message += " (byte 0x\(hex.count < 2 ? "0" + hex : hex))"
            }
            return YAMLError(at: position, message)
        default:
            let mark = parser.problem_mark
            var contextText: String?
            if let context {
                let contextMark = parser.context_mark
                contextText = "\(context) at line \(contextMark.line + 1), column \(contextMark.column + 1)"
            }
            return YAMLError(line: mark.line + 1, column: mark.column + 1, message: problem, context: contextText)
        }
    }

    private static func position(ofByte offset: Int, in input: [UInt8]) -> Position {
        var line = 1, column = 1
        var index = 0
        while index < min(offset, input.count) {
            let byte = input[index]
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1   // count characters, not continuation bytes
            }
            index += 1
        }
        return Position(line: line, column: column)
    }
}
