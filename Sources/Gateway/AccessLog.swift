import Foundation
import AccessLog

/// One request as the access log records it.
struct AccessLogEntry: Sendable {
    var time: Date
    var listener: String
    var namespace: String?
    var route: String?
    var ruleIndex: Int?
    var method: String
    var host: String?
    var path: String
    var status: Int
    var backend: String?
    var durationSeconds: Double
    var bytesReceived: Int
    var bytesSent: Int
    /// The route's accessLogHeaders the request has, in the route's order.
    var headers: [(String, String)]

    /// No value from the request is logged beyond its first 256 bytes.
    static let maxValueBytes = 256

    /// One JSON object, keys in a fixed order, without the newline.
    var jsonLine: String { String(decoding: jsonBytes(), as: UTF8.self) }

    /// The line as bytes, with the newline when asked. Built by hand, one
    /// buffer and no Foundation formatting: it runs for every request.
    func jsonBytes(newline: Bool = false) -> [UInt8] {
        var line = JSONLine()
        line.raw("{\"time\":\"")
        line.rfc3339(time)
        line.raw("\",\"source\":\"gateway\",\"listener\":")
        line.string(listener)
        if let namespace { line.raw(",\"namespace\":"); line.string(namespace) }
        if let route { line.raw(",\"route\":"); line.string(route) }
        if let ruleIndex { line.raw(",\"rule\":"); line.integer(ruleIndex) }
        line.raw(",\"method\":"); line.string(Self.truncated(method))
        if let host { line.raw(",\"host\":"); line.string(Self.truncated(host)) }
        line.raw(",\"path\":"); line.string(Self.truncated(path))
        line.raw(",\"status\":"); line.integer(status)
        if let backend { line.raw(",\"backend\":"); line.string(backend) }
        line.raw(",\"duration_ms\":"); line.milliseconds(durationSeconds)
        line.raw(",\"bytes_received\":"); line.integer(bytesReceived)
        line.raw(",\"bytes_sent\":"); line.integer(bytesSent)
        if !headers.isEmpty {
            line.raw(",\"headers\":{")
            for (index, (name, value)) in headers.enumerated() {
                if index > 0 { line.raw(",") }
                line.string(name)
                line.raw(":")
                line.string(Self.truncated(value))
            }
            line.raw("}")
        }
        line.raw(newline ? "}\n" : "}")
        return line.bytes
    }

    /// The longest prefix of at most 256 bytes that ends on a character boundary.
    static func truncated(_ value: String) -> String {
        guard value.utf8.count > maxValueBytes else { return value }
        var bytes = 0
        var prefix = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            bytes += UTF8.width(scalar)
            if bytes > maxValueBytes { break }
            prefix.append(scalar)
        }
        return String(prefix)
    }
}
