import ParleyRelay

/// The two librdkafka clients a relay runs.
enum KafkaClientRole: String, Sendable, Hashable {
    case producer
    case consumer
}

/// A rebuild the relay must run: shut `old` down (when there is one), wait `delay`, then create a client
/// carrying `generation`.
struct RebuildPlan<Client> {
    var old: Client?
    var generation: Int
    var delay: Duration
    var reason: String
}

extension RebuildPlan: Sendable where Client: Sendable {}

/// The relay's lifecycle and health: the current producer and consumer, which one is being rebuilt, and what
/// the broker probe and the consumer's assignment say.
///
/// A pure value driven under the relay's lock, generic over the client types so that every transition is tested
/// without librdkafka. Each client carries a generation: a report from a client that was already replaced is
/// ignored, so one failure causes one rebuild however many errors the failed client still reports.
struct RelayStateMachine<Producer: AnyObject, Consumer: AnyObject> {
    private enum Slot<Client: AnyObject> {
        case active(Client)
        case rebuilding(reason: String)
    }

    private enum Phase {
        case created
        case starting
        case running(producer: Slot<Producer>, consumer: Slot<Consumer>)
        case stopped
    }

    private var phase = Phase.created
    private let backoff: RebuildBackoff
    /// How long the consumer may stay without partitions while the broker answers before it counts as stuck.
    private let consumerStuckAfter: Duration
    /// Consecutive rebuild attempts per client since it last worked.
    private var attempts: [KafkaClientRole: Int] = [:]
    /// The generation of each role's current (or next) client.
    private var generations: [KafkaClientRole: Int] = [.producer: 0, .consumer: 0]
    /// What the last broker probe found wrong; nil when it answered.
    private var brokerProblem: String?
    private var consumerAssigned = false
    /// Since when the consumer has had no partitions while the broker answered.
    private var unassignedSince: ContinuousClock.Instant?

    init(backoff: RebuildBackoff, consumerStuckAfter: Duration) {
        self.backoff = backoff
        self.consumerStuckAfter = consumerStuckAfter
    }

    // MARK: Start and stop

    /// created → starting; returns the generation of the first clients, nil when started before.
    mutating func beginStart() -> Int? {
        guard case .created = phase else { return nil }
        phase = .starting
        generations = [.producer: 1, .consumer: 1]
        return 1
    }

    /// starting → running with the first clients; false when shutdown came first (the caller closes them).
    mutating func started(producer: Producer, consumer: Consumer) -> Bool {
        guard case .starting = phase else { return false }
        phase = .running(producer: .active(producer), consumer: .active(consumer))
        return true
    }

    /// Start failed: nothing runs.
    mutating func startFailed() {
        phase = .stopped
    }

    /// → stopped; returns the clients the caller must shut down.
    mutating func shutdown() -> (producer: Producer?, consumer: Consumer?) {
        defer { phase = .stopped }
        return clients
    }

    /// The clients in place now (nil while one is rebuilt or the relay does not run).
    var clients: (producer: Producer?, consumer: Consumer?) {
        guard case .running(let producer, let consumer) = phase else { return (nil, nil) }
        var clients: (producer: Producer?, consumer: Consumer?) = (nil, nil)
        if case .active(let current) = producer { clients.producer = current }
        if case .active(let current) = consumer { clients.consumer = current }
        return clients
    }

    // MARK: Publishing

    /// The producer to publish with, or the client-safe error to fail the publish with at once.
    func publishTarget() -> Result<Producer, ChatRelayError> {
        guard case .running(let producer, _) = phase else { return .failure(.notRunning) }
        switch producer {
        case .active(let current): return .success(current)
        case .rebuilding: return .failure(.rebuilding)
        }
    }

    // MARK: Failures and rebuilds

    /// The producer of `generation` is unusable (fatal error, fenced): the plan to replace it, or nil when that
    /// producer was already replaced (or the relay is not running).
    mutating func producerFailed(generation: Int, reason: String) -> RebuildPlan<Producer>? {
        guard case .running(var producer, let consumer) = phase else { return nil }
        let plan = fail(&producer, role: .producer, generation: generation, reason: reason)
        phase = .running(producer: producer, consumer: consumer)
        return plan
    }

    /// The consumer of `generation` is unusable (fatal error, failed join): the plan to replace it, or nil.
    mutating func consumerFailed(generation: Int, reason: String) -> RebuildPlan<Consumer>? {
        guard case .running(let producer, var consumer) = phase else { return nil }
        let plan = fail(&consumer, role: .consumer, generation: generation, reason: reason)
        phase = .running(producer: producer, consumer: consumer)
        if plan != nil {
            consumerAssigned = false
            unassignedSince = nil
        }
        return plan
    }

    private mutating func fail<Client: AnyObject>(
        _ slot: inout Slot<Client>, role: KafkaClientRole, generation: Int, reason: String
    ) -> RebuildPlan<Client>? {
        guard case .active(let old) = slot, generations[role] == generation else { return nil }
        let attempt = attempts[role, default: 0]
        attempts[role] = attempt + 1
        generations[role] = generation + 1
        slot = .rebuilding(reason: reason)
        return RebuildPlan(old: old, generation: generation + 1, delay: backoff.delay(attempt: attempt), reason: reason)
    }

    /// Whether a rebuild of `role` into `generation` is still wanted (not stopped, not superseded).
    func isRebuilding(_ role: KafkaClientRole, generation: Int) -> Bool {
        guard case .running(let producer, let consumer) = phase, generations[role] == generation else { return false }
        switch role {
        case .producer: if case .rebuilding = producer { return true }
        case .consumer: if case .rebuilding = consumer { return true }
        }
        return false
    }

    /// Creating the client for a rebuild failed: the delay before the next attempt (same generation), or nil when
    /// the rebuild is no longer wanted.
    mutating func rebuildAttemptFailed(_ role: KafkaClientRole, generation: Int) -> Duration? {
        guard isRebuilding(role, generation: generation) else { return nil }
        let attempt = attempts[role, default: 0]
        attempts[role] = attempt + 1
        return backoff.delay(attempt: attempt)
    }

    /// The rebuilt producer is in place; false when no longer wanted (the caller shuts it down).
    mutating func rebuilt(producer: Producer, generation: Int) -> Bool {
        guard isRebuilding(.producer, generation: generation), case .running(_, let consumer) = phase else { return false }
        phase = .running(producer: .active(producer), consumer: consumer)
        return true
    }

    /// The rebuilt consumer is in place (joining its group); false when no longer wanted.
    mutating func rebuilt(consumer: Consumer, generation: Int, now: ContinuousClock.Instant) -> Bool {
        guard isRebuilding(.consumer, generation: generation), case .running(let producer, _) = phase else { return false }
        phase = .running(producer: producer, consumer: .active(consumer))
        consumerAssigned = false
        unassignedSince = brokerProblem == nil ? now : nil
        return true
    }

    /// The producer of `generation` got an acknowledgement: its rebuild backoff starts over.
    mutating func producerWorked(generation: Int) {
        if generations[.producer] == generation { attempts[.producer] = 0 }
    }

    // MARK: Health signals

    /// The consumer of `generation` got (or lost) its partitions. Getting them resets its rebuild backoff.
    mutating func consumerAssignment(generation: Int, assigned: Bool, now: ContinuousClock.Instant) {
        guard generations[.consumer] == generation else { return }
        consumerAssigned = assigned
        if assigned {
            attempts[.consumer] = 0
            unassignedSince = nil
        } else {
            unassignedSince = brokerProblem == nil ? now : nil
        }
    }

    /// The broker probe's result (`problem` nil: the broker answered). A consumer that stayed without partitions
    /// for `consumerStuckAfter` while the broker answered is stuck: returns the plan to replace it.
    mutating func brokerProbed(problem: String?, now: ContinuousClock.Instant) -> RebuildPlan<Consumer>? {
        brokerProblem = problem
        guard problem == nil else {
            unassignedSince = nil
            return nil
        }
        guard case .running(_, .active) = phase, !consumerAssigned else { return nil }
        guard let since = unassignedSince else {
            unassignedSince = now
            return nil
        }
        guard now - since >= consumerStuckAfter else { return nil }
        return consumerFailed(
            generation: generations[.consumer, default: 0],
            reason: "consumer got no partitions within \(consumerStuckAfter) of the broker answering")
    }

    /// The relay's state; the first problem found wins (rebuilding, then broker, then assignment).
    var state: KafkaRelayState {
        switch phase {
        case .created: return .created
        case .starting: return .starting
        case .stopped: return .stopped
        case .running(let producer, let consumer):
            if case .rebuilding(let reason) = producer { return .rebuilding(reason: "Kafka producer is being recreated (\(reason))") }
            if case .rebuilding(let reason) = consumer { return .rebuilding(reason: "Kafka consumer is being recreated (\(reason))") }
            if let brokerProblem { return .degraded(reason: brokerProblem) }
            if !consumerAssigned { return .degraded(reason: "Kafka consumer has no partitions assigned (joining its group)") }
            return .running
        }
    }
}

extension ChatRelayError {
    /// A publish while the relay recreates its Kafka producer after a fatal error: fails at once, retry shortly.
    public static let rebuilding = ChatRelayError("message not delivered: the relay is reconnecting to Kafka, retry shortly")
}
