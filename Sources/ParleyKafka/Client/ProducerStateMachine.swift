import ParleyRelay

/// The producer's bookkeeping: which publishes await a delivery report, and whether new ones are accepted.
///
/// Pure value type, driven under the producer's lock; every transition returns what the caller must do, so
/// completions always run outside the lock and exactly once.
struct ProducerStateMachine {
    /// A publisher's completion.
    typealias Completion = @Sendable (Result<Void, any Error>) -> Void

    private enum State {
        /// Accepting publishes.
        case running
        /// `shutdown` called: no new publishes; waiting for pending reports until `deadline`.
        case draining(deadline: ContinuousClock.Instant, abandonWith: ChatRelayError, finished: CheckedContinuation<Void, Never>)
        /// The poll thread stopped and the handle is gone.
        case finished
    }

    private var state = State.running
    private var pending: [UInt: Completion] = [:]
    private var nextID: UInt = 1

    /// Number of publishes waiting for a delivery report.
    var pendingCount: Int { pending.count }

    /// What to do with a new publish.
    enum PublishAction {
        /// Produce with this opaque id; the completion is registered.
        case produce(id: UInt)
        /// Complete at once with this failure.
        case fail(ChatRelayError)
    }

    /// Registers `completion` when running.
    mutating func publish(_ completion: @escaping Completion) -> PublishAction {
        guard case .running = state else { return .fail(.notRunning) }
        let id = nextID
        nextID &+= 1
        pending[id] = completion
        return .produce(id: id)
    }

    /// `rd_kafka_produceva` refused the message (queue full, fatal error…): take its completion back.
    mutating func produceFailed(id: UInt) -> Completion? {
        pending.removeValue(forKey: id)
    }

    /// A delivery report arrived for `id`; returns its completion (nil if already failed by shutdown).
    mutating func deliveryReported(id: UInt) -> Completion? {
        pending.removeValue(forKey: id)
    }

    /// Starts shutdown: publishes still pending at `deadline` fail with `abandonWith`. Returns false (and the
    /// caller resumes at once) when already draining or finished.
    mutating func beginDrain(
        deadline: ContinuousClock.Instant, abandonWith: ChatRelayError, finished: CheckedContinuation<Void, Never>
    ) -> Bool {
        switch state {
        case .running:
            state = .draining(deadline: deadline, abandonWith: abandonWith, finished: finished)
            return true
        case .draining, .finished:
            return false
        }
    }

    /// What the poll thread does after each poll.
    enum PollDecision {
        case keepPolling
        /// Stop: fail `abandoned` publishes with `error`, destroy the handle, then resume `finished`.
        case stop(abandoned: [Completion], error: ChatRelayError, finished: CheckedContinuation<Void, Never>)
    }

    /// Decides whether the poll thread may stop: when draining and nothing is pending or the deadline passed.
    mutating func afterPoll(now: ContinuousClock.Instant) -> PollDecision {
        guard case .draining(let deadline, let error, let finished) = state else { return .keepPolling }
        guard pending.isEmpty || now >= deadline else { return .keepPolling }
        let abandoned = Array(pending.values)
        pending.removeAll()
        state = .finished
        return .stop(abandoned: abandoned, error: error, finished: finished)
    }
}
