import Foundation
import JSONValue

/// Parses JSON text written in a test.
func json(_ text: String) throws -> JSONValue {
    try JSONValue(jsonData: Data(text.utf8))
}
