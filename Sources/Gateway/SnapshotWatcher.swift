import Foundation
import NIOConcurrencyHelpers

/// Calls `check` from a thread of its own when the snapshot directory
/// changes (inotify) and at least once a second anyway (the fallback for a
/// directory that does not exist yet, is replaced, or sits on a file system
/// without inotify). `check` decides whether the file really changed.
final class SnapshotWatcher: Sendable {
    private let directory: URL
    private let check: @Sendable () -> Void
    /// [read end, write end] of the pipe that wakes the thread to stop.
    private let wake: [Int32]
    private let stopped = NIOLockedValueBox(false)
    private let finished = ConditionLock(value: 0)

    init(directory: URL, check: @escaping @Sendable () -> Void) {
        self.directory = directory
        self.check = check
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                _ = fcntl(fd, F_SETFL, O_NONBLOCK)
            }
        } else {
            fds = [-1, -1]
        }
        wake = fds
    }

    func start() {
        let thread = Thread { [self] in
            self.loop()
            self.finished.lock()
            self.finished.unlock(withValue: 1)
        }
        thread.name = "gateway-snapshot-watch"
        thread.start()
    }

    /// Returns when the thread has ended.
    func stop() {
        stopped.withLockedValue { $0 = true }
        var byte: UInt8 = 1
        _ = write(wake[1], &byte, 1)
        finished.lock(whenValue: 1)
        finished.unlock()
        close(wake[0])
        close(wake[1])
    }

    private func loop() {
        let inotify = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        defer { if inotify >= 0 { close(inotify) } }
        var watching = false
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !stopped.withLockedValue({ $0 }) {
            if inotify >= 0, !watching {
                watching = inotify_add_watch(inotify, directory.path, mask) >= 0
            }
            var fds = [pollfd(fd: wake[0], events: Int16(POLLIN), revents: 0)]
            if inotify >= 0 { fds.append(pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), 1000)
            if ready < 0, errno != EINTR { usleep(100_000) }
            if stopped.withLockedValue({ $0 }) { return }
            if fds.count > 1, fds[1].revents != 0 {
                // Drain the events; which file changed does not matter, `check` compares.
                while read(inotify, &buffer, buffer.count) > 0 {}
                if fds[1].revents & Int16(POLLIN) != 0 {
                    // A replaced or removed directory is watched anew.
                    var info = stat()
                    if stat(directory.path, &info) != 0 { watching = false }
                }
            }
            check()
        }
    }
}
