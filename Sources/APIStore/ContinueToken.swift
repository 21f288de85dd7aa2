import Foundation

/// Where a paginated list resumes: the snapshot version of its first page and
/// the last (namespace, name) returned. Handed out as base64url of JSON so
/// that clients treat it as opaque.
struct ContinueToken: Codable, Hashable, Sendable {
    /// Snapshot version.
    var v: Int64
    /// Namespace of the last item returned.
    var ns: String
    /// Name of the last item returned.
    var n: String

    func encoded() throws(StoreError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data: Data
        do {
            data = try encoder.encode(self)
        } catch {
            throw .storage("encode continue token: \(error)")
        }
        return data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    init(v: Int64, ns: String, n: String) {
        self.v = v
        self.ns = ns
        self.n = n
    }

    /// Parses a token; any text this type did not produce is `.badContinueToken`.
    init(parsing text: String) throws(StoreError) {
        guard text.count <= 4096, !text.isEmpty else { throw .badContinueToken }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64) else { throw .badContinueToken }
        do {
            self = try JSONDecoder().decode(ContinueToken.self, from: data)
        } catch {
            throw .badContinueToken
        }
        guard v >= 0 else { throw .badContinueToken }
    }
}
