import JSONValue

/// An object as the store holds it: its key, the resourceVersion of its last
/// change, and its JSON, whose `metadata.resourceVersion` carries that same
/// version as a decimal string.
public struct StoredObject: Hashable, Sendable {
    public var key: ObjectKey
    public var resourceVersion: Int64
    public var object: JSONValue

    public init(key: ObjectKey, resourceVersion: Int64, object: JSONValue) {
        self.key = key
        self.resourceVersion = resourceVersion
        self.object = object
    }
}

/// One page of a list: the items in (namespace, name) order, the version the
/// items are consistent with, and a token to fetch the next page if any.
public struct ListPage: Hashable, Sendable {
    public var items: [StoredObject]
    /// The store's version the items reflect: for a first page the current
    /// version, for a continued page the version of the first page.
    public var resourceVersion: Int64
    /// Opaque; pass back as `continueToken` to get the next page. Nil on the last page.
    public var continueToken: String?

    public init(items: [StoredObject], resourceVersion: Int64, continueToken: String?) {
        self.items = items
        self.resourceVersion = resourceVersion
        self.continueToken = continueToken
    }
}

/// A committed change as a watch delivers it: the object after the change
/// (for a deletion, the last state stamped with the deletion's version).
public struct WatchEvent: Hashable, Sendable {
    /// The Kubernetes watch event types the store produces.
    public enum EventType: String, Hashable, Sendable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
    }

    public var type: EventType
    public var object: StoredObject

    public init(type: EventType, object: StoredObject) {
        self.type = type
        self.object = object
    }

    public var resourceVersion: Int64 { object.resourceVersion }
}
