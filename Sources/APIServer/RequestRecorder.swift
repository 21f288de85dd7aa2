import Foundation
import JSONValue
import Synchronization

/// Records which API calls were made (verb, group, resource, subresource,
/// namespaced or not, the object's name), for the RBAC test that checks the
/// agent's ClusterRole allows exactly what the agent uses, told apart from
/// other clients by their User-Agent. Written as JSON lines.
public final class RequestRecorder: Sendable {
    private let handle: Mutex<FileHandle?>

    public init(path: String) throws {
        // Appended to: a restarted server keeps the lines of the one before.
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw APIServerError("cannot open the request log \(path)") }
        handle.seekToEndOfFile()
        self.handle = Mutex(handle)
    }

    /// `name` is what RBAC's resourceNames are checked against (nil: none,
    /// as for a create or a list of everything).
    func record(verb: String, resource: ResourceType, subresource: String?, namespace: String?, name: String?, userAgent: String) {
        let entry: [String: JSONValue] = [
            "verb": .string(verb), "group": .string(resource.group), "resource": .string(resource.plural),
            "subresource": .string(subresource ?? ""), "namespaced": .bool(namespace != nil),
            "namespace": .string(namespace ?? ""), "name": name.map { .string($0) } ?? .null, "userAgent": .string(userAgent),
        ]
        guard let data = try? JSONValue.object(JSONObject(entry.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })).jsonData() else { return }
        let line = String(decoding: data, as: UTF8.self) + "\n"
        handle.withLock { $0?.write(Data(line.utf8)) }
    }
}
