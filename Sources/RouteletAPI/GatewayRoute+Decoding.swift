import Foundation
import JSONValue

extension GatewayRoute {
    /// Decodes a GatewayRoute from a JSON value (e.g. a parsed YAML manifest).
    /// Unknown fields are ignored; a value of the wrong type is an error that
    /// names the field. Call ``validate(maxErrors:)`` on the result.
    public static func decode(from json: JSONValue) throws(ResourceDecodingError) -> GatewayRoute {
        try ResourceDecoder.decode(GatewayRoute.self, from: json)
    }

    /// Decodes a GatewayRoute from JSON text.
    public static func decode(from data: Data) throws(ResourceDecodingError) -> GatewayRoute {
        try ResourceDecoder.decode(GatewayRoute.self, from: data)
    }

    /// This resource as a JSON value, with absent optional fields left out.
    public func jsonValue() throws -> JSONValue {
        try JSONValue(encoding: self)
    }
}
