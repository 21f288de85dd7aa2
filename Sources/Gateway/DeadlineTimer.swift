import NIOCore

/// A timeout that is cheap to move. Every kept-alive request re-arms a
/// connection's idle, header and request timeouts; with a task scheduled
/// and cancelled each time that is an allocation and a heap update apiece,
/// several per request. Here arming only records the deadline: one task at
/// a time sleeps until the earliest deadline it was scheduled for, then
/// finds the current one and fires, sleeps again, or ends if disarmed.
///
/// Confined to its event loop, like the handler that owns it.
final class DeadlineTimer {
    private let eventLoop: EventLoop
    private let action: () -> Void
    private var deadline: NIODeadline?
    private var task: Scheduled<Void>?
    private var taskDeadline: NIODeadline?

    /// `action` runs on the event loop when an armed deadline passes; it
    /// should hold its owner weakly (the owner holds the timer).
    init(eventLoop: EventLoop, _ action: @escaping () -> Void) {
        self.eventLoop = eventLoop
        self.action = action
    }

    var isArmed: Bool { deadline != nil }

    /// Fires `delay` from now, replacing any deadline armed before.
    func arm(in delay: TimeAmount) {
        let deadline = NIODeadline.now() + delay
        self.deadline = deadline
        if let taskDeadline, taskDeadline <= deadline { return }
        schedule(at: deadline)
    }

    /// Does not fire until armed again.
    func disarm() {
        deadline = nil
    }

    /// Disarms and drops the sleeping task too (the connection is closing).
    func cancel() {
        deadline = nil
        task?.cancel()
        task = nil
        taskDeadline = nil
    }

    private func schedule(at deadline: NIODeadline) {
        task?.cancel()
        taskDeadline = deadline
        task = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            self?.wake()
        }
    }

    private func wake() {
        task = nil
        taskDeadline = nil
        guard let deadline else { return }
        if deadline <= .now() {
            self.deadline = nil
            action()
        } else {
            schedule(at: deadline)
        }
    }
}
