/// Request headers as a list of (name, value), names compared
/// case-insensitively as NIO's HTTPHeaders does; for the benchmark and tests.
struct FieldListHeaders: RoutingHeaders, Sendable {
    var fields: [(String, String)]

    func value(forLowercasedName name: String) -> String? {
        var joined: String?
        for (field, value) in fields where field.utf8.count == name.utf8.count
            && zip(field.utf8, name.utf8).allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0) == $1 }) {
            joined = joined.map { $0 + "," + value } ?? value
        }
        return joined
    }
}
