import Foundation
import JSONValue
import Logging
import Metrics

/// A change to a watched collection: added, modified, deleted, or `synced`
/// once the first list is complete.
public typealias ResourceChange = ListWatch.Change

extension KubeClient {
    /// The changes of a collection, for as long as the caller iterates:
    /// list, then watch from the list's resourceVersion, resume after each
    /// clean end, relist on 410 (emitting deletes for objects that
    /// vanished meanwhile), back off after failures (see ``ListWatch``).
    /// The sequence does not end by itself and never throws: failures are
    /// retried. Stop it by ending the iteration or cancelling the task.
    public func changes(of resource: KubeResource, namespace: String? = nil, labelSelector: String? = nil,
                        fieldSelector: String? = nil) -> AsyncThrowingStream<ResourceChange, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ResourceChange.self)
        let task = Task {
            var machine = ListWatch(configuration: .init(watchTimeoutSeconds: watchTimeoutRange))
            var action = machine.start()
            var relistsCounted = 0
            let path = resource.path(namespace: namespace)
            while !Task.isCancelled {
                if action.delay > .zero {
                    do { try await Task.sleep(for: action.delay) } catch { break }
                }
                switch action {
                case .list:
                    if machine.counters.relists > relistsCounted {
                        Counter(label: "routelet_kube_relists_total", dimensions: [("resource", "\(resource)")])
                            .increment(by: machine.counters.relists - relistsCounted)
                        relistsCounted = machine.counters.relists
                    }
                    do {
                        let list = try await self.list(resource, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector)
                        let (changes, next) = machine.listed(list)
                        for change in changes { continuation.yield(change) }
                        action = next
                    } catch {
                        if Task.isCancelled { break }
                        action = machine.listFailed(Self.failure(error))
                        logRetry(resource, "list", error: error, next: action, failures: machine.consecutiveFailures)
                    }
                case .watch(let version, let timeout, let bookmarks, _):
                    if machine.counters.watches > 1 {
                        Counter(label: "routelet_kube_watch_restarts_total", dimensions: [("resource", "\(resource)")]).increment()
                    }
                    var query = [("watch", "true"), ("resourceVersion", version), ("timeoutSeconds", "\(timeout)")]
                    if bookmarks { query.append(("allowWatchBookmarks", "true")) }
                    if let labelSelector { query.append(("labelSelector", labelSelector)) }
                    if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
                    let started = ContinuousClock.now
                    var abandoned: ListWatch.Action?
                    do {
                        for try await line in try watchLines(path, query: query) {
                            let (change, next) = machine.received(line: line)
                            if let change { continuation.yield(change) }
                            if let next {
                                abandoned = next
                                break
                            }
                        }
                        if Task.isCancelled { break }
                        action = abandoned ?? machine.watchEnded(after: .now - started)
                        if abandoned != nil || machine.consecutiveFailures > 0 {
                            logRetry(resource, "watch", error: machine.lastFailure.map { "\($0)" } ?? "ended", next: action,
                                     failures: machine.consecutiveFailures)
                        }
                    } catch {
                        if Task.isCancelled { break }
                        action = machine.watchFailed(Self.failure(error))
                        logRetry(resource, "watch", error: error, next: action, failures: machine.consecutiveFailures)
                    }
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// The lines of one watch request, as they arrive.
    func watchLines(_ path: String, query: [(String, String)]) throws -> AsyncThrowingStream<[UInt8], any Error> {
        let request = try makeRequest("GET", path, query: query, streaming: true)
        let (lines, continuation) = AsyncThrowingStream.makeStream(of: [UInt8].self)
        let id = CurlDriver.shared.start(request, sink: .lines(
            line: { continuation.yield($0) },
            end: { [self] error in
                record("WATCH", outcome: error.map { $0.statusCode.map(String.init) ?? "error" } ?? "200")
                if let error { continuation.finish(throwing: error) } else { continuation.finish() }
            }))
        continuation.onTermination = { _ in CurlDriver.shared.cancel(id) }
        return lines
    }

    static func failure(_ error: any Error) -> ListWatch.Failure {
        guard let error = error as? KubeError else { return .transport("\(error)") }
        switch error.kind {
        case .status(let code, let reason):
            return .status(code: code, reason: reason, message: error.message)
        case .decoding:
            return .malformed(error.description)
        case .transport, .silent, .cancelled:
            return .transport(error.description)
        }
    }

    private func logRetry(_ resource: KubeResource, _ what: String, error: Any, next: ListWatch.Action, failures: Int) {
        // The first failures are routine (an API server restart); repeated ones are worth a warning.
        let level: Logger.Level = failures >= 3 ? .warning : .info
        logger.log(level: level, "\(what) of \(resource) failed; retrying", metadata: [
            "error": "\(error)", "next": "\(next)", "consecutiveFailures": "\(failures)",
        ])
    }
}
