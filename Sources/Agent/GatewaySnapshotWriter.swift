import Foundation
import GatewayConfig
import Logging
import Reconciler

/// Writes the node's HTTP listeners for `routelet gateway`: a new snapshot
/// version when what the gateway must serve changed, and again when the
/// file on disk is not what was written (deleted or edited: drift, repaired
/// on the next pass). Versions continue from the snapshot on disk, so an
/// agent restart does not make the gateway see an older version.
final class GatewaySnapshotWriter {
    let directory: URL
    let logger: Logger
    private var last: GatewaySnapshot?

    init(directory: URL, logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    /// Certificate files no snapshot names any more (after the new snapshot is written).
    private func removeFiles(except kept: Set<String>) {
        let tls = directory.appendingPathComponent("tls")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tls.path)) ?? [] where !kept.contains("tls/\(name)") {
            try? FileManager.default.removeItem(at: tls.appendingPathComponent(name))
        }
    }

    /// What keeps the HTTP routes of `listeners` from being served as the
    /// last snapshot says, by listener ("address:port"): no gateway serving
    /// this version yet, or a socket it could not bind.
    func servingProblems(listeners: [HTTPListenerConfig]) -> [String: Problem] {
        guard let last, !listeners.isEmpty else { return [:] }
        let serving = GatewayServingStatus.load(from: directory)
        var problems: [String: Problem] = [:]
        for listener in listeners {
            let key = listener.hostPort
            guard let serving, serving.version >= last.version else {
                let detail = serving.map { "it serves version \($0.version)\($0.snapshotError.map { "; the newer one was refused: \($0)" } ?? "")" }
                    ?? "none has reported in \(directory.path)"
                problems[key] = Problem(.gatewayNotServing, "routelet gateway does not serve snapshot version \(last.version) yet (\(detail))")
                continue
            }
            if let status = serving.listeners.first(where: { $0.listener == key }), !status.bound {
                problems[key] = Problem(.gatewayNotServing, "routelet gateway cannot listen on \(key): \(status.error ?? "unknown error")")
            }
        }
        return problems
    }

    /// Whether a snapshot was written.
    @discardableResult
    func update(node: String, listeners: [HTTPListenerConfig], files: [String: Data] = [:], checkDisk: Bool) throws -> Bool {
        // Certificate files first (content-addressed: present means current),
        // so a snapshot never names a file that is not there yet.
        for (path, content) in files.sorted(by: { $0.key < $1.key }) {
            let url = directory.appendingPathComponent(path)
            guard !FileManager.default.fileExists(atPath: url.path) else { continue }
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try GatewaySnapshot.writeAtomically(content, to: url, mode: path.hasSuffix(".key") ? 0o600 : 0o644)
        }
        defer { removeFiles(except: Set(files.keys)) }
        if last == nil { last = try? GatewaySnapshot.load(from: directory) }
        let changed = last?.node != node || last?.listeners != listeners
        if !changed {
            guard checkDisk, (try? GatewaySnapshot.load(from: directory)) != last else { return false }
            logger.warning("gateway snapshot on disk differs from the one written; rewriting it", metadata: ["dir": "\(directory.path)"])
        }
        let snapshot = GatewaySnapshot(version: (last?.version ?? 0) + (changed ? 1 : 0), node: node, listeners: listeners)
        try snapshot.write(to: directory)
        last = snapshot
        logger.info("gateway snapshot written", metadata: [
            "version": "\(snapshot.version)", "listeners": "\(listeners.map(\.hostPort).joined(separator: ","))",
            "routes": "\(listeners.reduce(0) { $0 + $1.routes.count })",
        ])
        return true
    }
}
