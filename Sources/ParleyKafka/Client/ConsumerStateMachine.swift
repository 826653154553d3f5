import ParleyRelay

/// The consumer's lifecycle: joining its group → running → closing → closed.
///
/// Pure value type driven under the consumer's lock; transitions return the continuation to resume so that
/// resumptions happen outside the lock, exactly once.
struct ConsumerStateMachine {
    private enum State {
        case idle
        /// Subscribed; `start` waits for the first partition assignment until `deadline` (nil: for as long as it takes).
        case joining(deadline: ContinuousClock.Instant?, ready: CheckedContinuation<Void, any Error>)
        /// Assigned and delivering.
        case running
        /// Shutdown (or a failed start) asked the poll thread to close the consumer.
        case closing(closed: CheckedContinuation<Void, Never>?)
        /// The handle is gone.
        case closed
    }

    private var state = State.idle

    /// Moves to joining; false if the consumer was used before.
    mutating func beginJoining(deadline: ContinuousClock.Instant?, ready: CheckedContinuation<Void, any Error>) -> Bool {
        guard case .idle = state else { return false }
        state = .joining(deadline: deadline, ready: ready)
        return true
    }

    /// Partitions were assigned: returns the start continuation to resume, if still joining.
    mutating func partitionsAssigned() -> CheckedContinuation<Void, any Error>? {
        guard case .joining(_, let ready) = state else { return nil }
        state = .running
        return ready
    }

    /// Whether the poll thread keeps polling, or the join deadline passed (returns the continuation to fail).
    enum PollDecision {
        case keepPolling
        case joinTimedOut(CheckedContinuation<Void, any Error>)
        case close
    }

    /// Called by the poll thread before every poll.
    mutating func beforePoll(now: ContinuousClock.Instant) -> PollDecision {
        switch state {
        case .joining(let deadline?, let ready) where now >= deadline:
            state = .closing(closed: nil)
            return .joinTimedOut(ready)
        case .idle, .joining, .running:
            return .keepPolling
        case .closing, .closed:
            return .close
        }
    }

    /// What the poll thread does about a fatal error.
    enum FatalAction {
        /// Fail `start` (still joining) with the error; the consumer closes.
        case failStart(CheckedContinuation<Void, any Error>)
        /// The consumer closes (it was running, or is closing anyway).
        case close
    }

    /// librdkafka raised a fatal error: the consumer never works again, so the poll thread closes it.
    mutating func fatalError() -> FatalAction {
        switch state {
        case .joining(_, let ready):
            state = .closing(closed: nil)
            return .failStart(ready)
        case .idle, .running:
            state = .closing(closed: nil)
            return .close
        case .closing, .closed:
            return .close
        }
    }

    /// What `shutdown` must do.
    enum ShutdownAction {
        /// Wait: the poll thread resumes `closed` once the handle is gone; fail `pendingStart` first if set.
        case wait(pendingStart: CheckedContinuation<Void, any Error>?)
        /// Nothing to close (never started or already closed): resume at once.
        case resumeNow
    }

    /// Asks the poll thread to close the consumer.
    mutating func beginShutdown(closed: CheckedContinuation<Void, Never>) -> ShutdownAction {
        switch state {
        case .idle, .closed:
            state = .closed
            return .resumeNow
        case .joining(_, let ready):
            state = .closing(closed: closed)
            return .wait(pendingStart: ready)
        case .running:
            state = .closing(closed: closed)
            return .wait(pendingStart: nil)
        case .closing(let earlier):
            // A second shutdown while the first waits: the first continuation stays the one resumed.
            if earlier == nil {
                state = .closing(closed: closed)
                return .wait(pendingStart: nil)
            }
            return .resumeNow
        }
    }

    /// The poll thread destroyed the handle: returns who waits for it.
    mutating func didClose() -> CheckedContinuation<Void, Never>? {
        guard case .closing(let closed) = state else { return nil }
        state = .closed
        return closed
    }
}
