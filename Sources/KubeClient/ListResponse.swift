import JSONValue

/// One page of a Kubernetes list (`{"metadata":{"resourceVersion":...,
/// "continue":...},"items":[...]}`): the objects, the version to watch from,
/// and the token for the next page when there is one.
public struct ListResponse: Hashable, Sendable {
    public var items: [JSONValue]
    /// `metadata.resourceVersion`: the snapshot the items belong to; a watch
    /// from it sees every change after them.
    public var resourceVersion: String
    /// `metadata.continue`: more pages follow (fetch them with `continue=` and
    /// concatenate the items); nil on the last page.
    public var continueToken: String?

    public init(items: [JSONValue], resourceVersion: String, continueToken: String? = nil) {
        self.items = items
        self.resourceVersion = resourceVersion
        self.continueToken = continueToken
    }

    /// Decodes a list body. `items` may be absent or null (an empty list);
    /// each item must be an object with a non-empty `metadata.name`, so the
    /// cache can key it. `metadata.resourceVersion` is required: without it
    /// there is nothing to watch from. An empty `continue` means no more pages.
    public init(body: some Collection<UInt8>) throws(ListWatchDecodingError) {
        let context = ListWatchDecodingError.Context(.listResponse, input: body)
        let list = try context.parseObject(body)
        let metadata = try context.require(list, "metadata", at: "")
        guard case .object = metadata else { throw context.wrongType("metadata", expected: "an object", got: metadata) }
        let resourceVersion = try context.requireString(metadata, "resourceVersion", at: "metadata")
        let continueToken = try context.optionalString(metadata, "continue", at: "metadata")

        var items: [JSONValue] = []
        switch list["items"] {
        case nil, .null?:
            break
        case .array(let elements)?:
            for (index, item) in elements.enumerated() {
                try context.checkObjectMetadata(item, at: "items[\(index)]")
            }
            items = elements
        case let other?:
            throw context.wrongType("items", expected: "an array", got: other)
        }
        self.init(items: items, resourceVersion: resourceVersion,
                  continueToken: continueToken.flatMap { $0.isEmpty ? nil : $0 })
    }
}
