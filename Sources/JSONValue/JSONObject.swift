/// The members of a JSON object, kept in insertion order so that a manifest's
/// field order survives parsing; equality and hashing ignore the order.
public struct JSONObject: Hashable, Sendable, Sequence, ExpressibleByDictionaryLiteral {
    /// One member: a key and its value.
    public typealias Element = (key: String, value: JSONValue)

    private var orderedKeys: [String] = []
    private var storage: [String: JSONValue] = [:]

    /// An empty object.
    public init() {}

    /// An object with the given members in order; a repeated key keeps its
    /// first position and its last value.
    public init(_ members: some Sequence<(String, JSONValue)>) {
        for (key, value) in members { self[key] = value }
    }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }

    /// Keys in insertion order.
    public var keys: [String] { orderedKeys }
    public var count: Int { orderedKeys.count }
    public var isEmpty: Bool { orderedKeys.isEmpty }

    /// The members as a plain dictionary (order is lost).
    public var dictionary: [String: JSONValue] { storage }

    /// Reads, replaces, appends or (with nil) removes a member.
    public subscript(key: String) -> JSONValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { orderedKeys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                orderedKeys.removeAll { $0 == key }
            }
        }
    }

    public func makeIterator() -> some IteratorProtocol<Element> {
        var index = 0
        let keys = orderedKeys, storage = storage
        return AnyIterator<Element> {
            guard index < keys.count else { return nil }
            defer { index += 1 }
            let key = keys[index]
            // Every key in `orderedKeys` is in `storage`: the subscript keeps them in step.
            return (key, storage[key]!)
        }
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool { lhs.storage == rhs.storage }
    public func hash(into hasher: inout Hasher) { hasher.combine(storage) }
}
