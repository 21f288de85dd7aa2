import Foundation
import JSONValue

extension RouteletNode {
    /// Decodes a RouteletNode from a JSON value. Unknown fields are ignored;
    /// a value of the wrong type is an error that names the field.
    public static func decode(from json: JSONValue) throws(ResourceDecodingError) -> RouteletNode {
        try ResourceDecoder.decode(RouteletNode.self, from: json)
    }

    /// Decodes a RouteletNode from JSON text.
    public static func decode(from data: Data) throws(ResourceDecodingError) -> RouteletNode {
        try ResourceDecoder.decode(RouteletNode.self, from: data)
    }

    /// This resource as a JSON value, with absent optional fields left out.
    public func jsonValue() throws -> JSONValue {
        try JSONValue(encoding: self)
    }
}
