import Foundation
import JSONValue

extension RouteTable {
    /// Decodes a RouteTable from a JSON value (e.g. a parsed YAML manifest).
    /// Unknown fields are ignored; a value of the wrong type is an error that
    /// names the field. Call ``validate(maxErrors:)`` on the result.
    public static func decode(from json: JSONValue) throws(ResourceDecodingError) -> RouteTable {
        try ResourceDecoder.decode(RouteTable.self, from: json)
    }

    /// Decodes a RouteTable from JSON text.
    public static func decode(from data: Data) throws(ResourceDecodingError) -> RouteTable {
        try ResourceDecoder.decode(RouteTable.self, from: data)
    }

    /// This resource as a JSON value, with absent optional fields left out.
    public func jsonValue() throws -> JSONValue {
        try JSONValue(encoding: self)
    }
}
