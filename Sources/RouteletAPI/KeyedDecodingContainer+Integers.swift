import JSONValue

extension KeyedDecodingContainer {
    /// Decodes an integer field through a JSON value, so that a number out of
    /// range or with a fraction is an error that keeps its field path
    /// (Foundation's JSONDecoder drops the path for those).
    func decodeIntegerIfPresent<T: FixedWidthInteger>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = try decodeIfPresent(JSONValue.self, forKey: key), value != .null else { return nil }
        let path = codingPath + [key]
        switch value {
        case .integer(let number):
            if let result = T(exactly: number) { return result }
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "\(number) is out of range (\(rangeText(T.self)))"))
        case .double(let number) where number == number.rounded(.towardZero):
            if let result = T(exactly: number) { return result }
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "\(number) is out of range (\(rangeText(T.self)))"))
        default:
            throw DecodingError.typeMismatch(T.self, .init(codingPath: path, debugDescription: "expected an integer"))
        }
    }

    private func rangeText<T: FixedWidthInteger>(_ type: T.Type) -> String {
        T.min < 0 ? "\(T.min) to \(T.max)" : "\(T.min)-\(T.max)"
    }
}
