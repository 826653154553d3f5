import ParleyCodec

/// Something a client's connection delivered.
public enum InboundEvent: Sendable, Hashable {
    /// A frame.
    case frame(StompFrame)
    /// A heart-beat (EOL).
    case heartBeat
    /// The connection ended; the text says how (server close, error).
    case closed(String)
}

/// Everything one client received, in order, with a cursor the script consumes from.
///
/// The transport appends from its own task while the script waits with a deadline, so frames arriving early are
/// kept, and waiting never blocks a thread.
actor Inbox {
    private var events: [InboundEvent] = []
    private var cursor = 0
    private var mark = 0
    private var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiterID = 0

    /// Records an event and wakes waiters.
    func append(_ event: InboundEvent) {
        // Nothing can follow a close; a second close (e.g. our own) is not news.
        if case .closed = events.last { return }
        events.append(event)
        let current = waiters
        waiters.removeAll()
        for waiter in current.values { waiter.resume() }
    }

    /// Whether the connection has been reported closed.
    var isClosed: Bool {
        if case .closed = events.last { return true }
        return false
    }

    /// The next unconsumed event (heart-beats skipped unless asked for), or nil at the deadline.
    func next(until deadline: ContinuousClock.Instant, includeHeartBeats: Bool = false) async -> InboundEvent? {
        while true {
            while cursor < events.count {
                let event = events[cursor]
                cursor += 1
                if case .heartBeat = event, !includeHeartBeats { continue }
                return event
            }
            if ContinuousClock.now >= deadline { return nil }
            await waitForEvent(until: deadline)
        }
    }

    /// Puts back the last consumed event so a later expectation can see it.
    func unconsume() { if cursor > 0 { cursor -= 1 } }

    /// Frames received so far that the script has not consumed.
    var pending: [InboundEvent] { Array(events[cursor...]) }

    /// Non-heart-beat events since the last matched expectation (at most `limit`), for failure reports: what the
    /// client actually saw while the failing step waited.
    func sinceMark(limit: Int = 10) -> [InboundEvent] {
        Array(events[mark...].filter { if case .heartBeat = $0 { return false } else { return true } }.prefix(limit))
    }

    /// Marks everything consumed so far as explained by a matched expectation.
    func setMark() { mark = cursor }

    private func waitForEvent(until deadline: ContinuousClock.Instant) async {
        let id = nextWaiterID
        nextWaiterID += 1
        let timer = Task { [weak self] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            await self?.wake(id)
        }
        await withCheckedContinuation { continuation in
            waiters[id] = continuation
        }
        timer.cancel()
    }

    private func wake(_ id: Int) {
        waiters.removeValue(forKey: id)?.resume()
    }
}
