import JSONValue

/// One event of a Kubernetes watch stream, as the server sends it on one
/// line: `{"type":"ADDED","object":{...}}`.
public struct WatchEvent: Hashable, Sendable {
    /// The event's `type`.
    public enum EventType: String, Hashable, Sendable, CaseIterable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
        /// Only a resourceVersion to resume from; the object carries nothing else.
        case bookmark = "BOOKMARK"
        /// The watch failed; the object is a `Status` (410 Expired when the
        /// resourceVersion is older than the server's history).
        case error = "ERROR"
    }

    public var type: EventType
    /// The object the event is about; a `Status` for ERROR.
    public var object: JSONValue

    public init(type: EventType, object: JSONValue) {
        self.type = type
        self.object = object
    }

    /// Decodes one line of a watch stream (a trailing newline is fine).
    ///
    /// Checks what the list+watch cache relies on: the line is a JSON object,
    /// `type` is a known string, `object` is an object; for ADDED, MODIFIED
    /// and DELETED the object has `metadata.name` (non-empty) and, when
    /// present, string `namespace` and `resourceVersion`; a BOOKMARK has a
    /// string `metadata.resourceVersion`. An ERROR's Status is taken as it is.
    public init(line: some Collection<UInt8>) throws(ListWatchDecodingError) {
        let context = ListWatchDecodingError.Context(.watchEvent, input: line)
        let event = try context.parseObject(line)
        let typeText = try context.requireString(event, "type", at: "")
        guard let type = EventType(rawValue: typeText) else {
            throw context.error(.unknownEventType, "type",
                                "unknown event type \"\(typeText)\"; expected one of "
                                    + EventType.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let object = try context.require(event, "object", at: "")
        guard case .object = object else { throw context.wrongType("object", expected: "an object", got: object) }
        switch type {
        case .added, .modified, .deleted:
            try context.checkObjectMetadata(object, at: "object")
        case .bookmark:
            let metadata = try context.require(object, "metadata", at: "object")
            guard case .object = metadata else {
                throw context.wrongType("object.metadata", expected: "an object", got: metadata)
            }
            _ = try context.requireString(metadata, "resourceVersion", at: "object.metadata")
        case .error:
            break
        }
        self.init(type: type, object: object)
    }

    /// `object.metadata.resourceVersion`; nil for an ERROR's Status.
    public var resourceVersion: String? { object["metadata"]?["resourceVersion"]?.stringValue }

    /// For an ERROR event: the Status's `code`, `reason` and `message`.
    public var status: (code: Int?, reason: String?, message: String?)? {
        guard type == .error else { return nil }
        return (object["code"]?.integerValue.flatMap { Int(exactly: $0) },
                object["reason"]?.stringValue, object["message"]?.stringValue)
    }
}
