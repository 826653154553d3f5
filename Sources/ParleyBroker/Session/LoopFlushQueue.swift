import NIOCore

/// The sessions of one event loop that wrote outside a channel read and wait for their flush: one task per
/// loop and tick flushes them all (a 1 → 1,000 room used to queue 1,000 tasks per message). Loop-confined: the
/// broker hands it out wrapped in `NIOLoopBound`.
final class LoopFlushQueue {
    private let eventLoop: any EventLoop
    private var waiting: [StompSessionHandler] = []
    private var spare: [StompSessionHandler] = []
    private var scheduled = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Adds `session` to the next flush; must run on the loop.
    func enqueue(_ session: StompSessionHandler) {
        waiting.append(session)
        if !scheduled {
            scheduled = true
            eventLoop.assumeIsolated().execute { self.flushAll() }
        }
    }

    private func flushAll() {
        scheduled = false
        // Swapped out first: a flush can close a session, whose writes may enqueue again.
        swap(&waiting, &spare)
        for session in spare { session.flushQueued() }
        spare.removeAll(keepingCapacity: true)
    }
}
