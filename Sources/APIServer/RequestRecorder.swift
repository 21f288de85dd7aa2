import Foundation
import Synchronization

/// Records which API calls were made (verb, group, resource, subresource,
/// namespaced or not), for the RBAC test that checks the agent's ClusterRole
/// allows exactly what the agent uses. Written as JSON lines.
public final class RequestRecorder: Sendable {
    private let handle: Mutex<FileHandle?>

    public init(path: String) throws {
        FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw APIServerError("cannot open the request log \(path)") }
        handle.seekToEndOfFile()
        self.handle = Mutex(handle)
    }

    func record(verb: String, resource: ResourceType, subresource: String?, namespace: String?) {
        let line = "{\"verb\":\"\(verb)\",\"group\":\"\(resource.group)\",\"resource\":\"\(resource.plural)\",\"subresource\":\"\(subresource ?? "")\",\"namespaced\":\(namespace != nil)}\n"
        handle.withLock { $0?.write(Data(line.utf8)) }
    }
}
