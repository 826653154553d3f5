import Logging
import ParleyRelay
import Synchronization

/// The Kafka ``ChatRelay``: every chat node produces to one topic and consumes all of it.
///
/// Events are produced keyed by room id (`acks=all`); a publish completes only after the broker acknowledged
/// it. Each node consumes the whole topic in its own consumer group `parley-<nodeID>`, so every node sees every
/// event, and commits its position after delivering to the sink, so a restarted node resumes where it stopped.
/// Redelivered events are dropped by message id. A producer or consumer that hits a fatal error is recreated
/// with backoff, and ``state`` tells at any time whether the relay can relay. See docs/kafka.md.
///
/// ```swift
/// let relay = KafkaRelay(configuration: KafkaRelayConfiguration(bootstrapServers: "127.0.0.1:9092", nodeID: "n1"))
/// try await relay.start(deliveringTo: sink)   // checks librdkafka ≥ 2.2, creates the topic, joins the group
/// relay.publish(event) { result in … }        // completes after the broker's ack
/// relay.state                                 // .running, .degraded(reason:), .rebuilding(reason:), …
/// await relay.shutdown()
/// ```
public final class KafkaRelay: ChatRelay {
    /// The settings this relay runs with.
    public let configuration: KafkaRelayConfiguration
    /// Observable relay events (assignments, errors, rebuilds). Buffers the newest 256 when nobody listens.
    public let events: AsyncStream<KafkaRelayEvent>

    private let eventsContinuation: AsyncStream<KafkaRelayEvent>.Continuation
    private let logger: Logger
    private let counters = KafkaRelayCounters()
    private let limiter = LogRateLimiter()
    private let machine: Mutex<RelayStateMachine<KafkaProducer, KafkaConsumer>>
    /// Where the consumers deliver (set by `start`, reused by rebuilt consumers).
    private let sink = Mutex<(any ChatEventSink)?>(nil)
    private let handoff: ConsumerHandoff
    private let probe = Mutex<BrokerProbe?>(nil)
    private let rebuilds = Mutex<[KafkaClientRole: Task<Void, Never>]>([:])

    /// Creates a relay; nothing connects before ``start(deliveringTo:)``.
    public init(configuration: KafkaRelayConfiguration, logger: Logger = Logger(label: "parley.kafka")) {
        self.configuration = configuration
        self.logger = logger
        (events, eventsContinuation) = AsyncStream.makeStream(of: KafkaRelayEvent.self, bufferingPolicy: .bufferingNewest(256))
        machine = Mutex(
            RelayStateMachine(
                backoff: RebuildBackoff(initial: configuration.rebuildBackoff, maximum: configuration.rebuildBackoffMax),
                consumerStuckAfter: configuration.consumerStuckTimeout))
        handoff = ConsumerHandoff(capacity: max(1, configuration.duplicateWindow))
    }

    /// Counters since creation.
    public var metrics: KafkaRelayMetrics { counters.snapshot }

    /// Where the relay is now: running, degraded (broker not answering, consumer without partitions),
    /// rebuilding a failed client, …; cheap and synchronous.
    public var state: KafkaRelayState { machine.withLock { $0.state } }

    /// Ready only while ``state`` is ``KafkaRelayState/running``; otherwise the state says why not.
    public var health: RelayHealth {
        let state = self.state
        return state == .running ? .ready : .notReady(reason: "Kafka relay \(state)")
    }

    /// Checks the librdkafka version and the configuration, reaches the broker, creates the topic if missing and
    /// joins the node's consumer group. Returns once partitions are assigned: events published from then on reach
    /// `sink`. Throws ``KafkaRelayError`` (within about ``KafkaRelayConfiguration/startupTimeout``) otherwise.
    public func start(deliveringTo sink: any ChatEventSink) async throws {
        try LibrdkafkaVersion.check()
        try configuration.validate()
        guard let generation = machine.withLock({ $0.beginStart() }) else { throw KafkaRelayError.alreadyStarted }
        self.sink.withLock { $0 = sink }

        let configuration = configuration
        let logger = logger
        let limiter = limiter
        let producer: KafkaProducer
        do {
            try await runOnDedicatedThread(named: "kafka-startup") {
                try RdKafkaClient.prepareTopic(configuration, logger: logger, limiter: limiter)
            }
            producer = try makeProducer(generation: generation)
            try startProbe()
        } catch {
            machine.withLock { $0.startFailed() }
            await stopProbe()
            throw error
        }
        producer.startPolling()
        do {
            let consumer = try makeConsumer(generation: generation)
            try await consumer.start(deliveringTo: sink, timeout: configuration.startupTimeout, groupID: configuration.groupID)
            if !machine.withLock({ $0.started(producer: producer, consumer: consumer) }) {
                await consumer.shutdown()
                throw ChatRelayError.notRunning
            }
        } catch {
            await producer.shutdown(drainTimeout: .zero)
            machine.withLock { $0.startFailed() }
            await stopProbe()
            throw error
        }
        // A fatal error raised before the relay was running was not acted on: act now.
        if let fatal = producer.fatalError { producerUnusable(generation: generation, reason: fatal) }
        logger.info(
            "Kafka relay running: node \(configuration.nodeID), topic \(configuration.topic), librdkafka \(LibrdkafkaVersion.loaded)")
    }

    /// Produces `event`; `completion` runs on the relay's producer thread after the broker acknowledged it, or
    /// with a client-safe ``ChatRelayError`` (timeout, queue full, not running, ``ChatRelayError/rebuilding``).
    public func publish(_ event: ChatEvent, completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        switch machine.withLock({ $0.publishTarget() }) {
        case .success(let producer):
            producer.publish(event, completion: completion)
        case .failure(let error):
            counters.publishFailures.increment()
            completion(.failure(error))
        }
    }

    /// Stops accepting publishes, waits (up to ``KafkaRelayConfiguration/shutdownDrainTimeout``) for outstanding
    /// acknowledgements, fails the rest, commits the consumer's position and leaves the group.
    public func shutdown() async {
        let (producer, consumer) = machine.withLock { $0.shutdown() }
        // Rebuilds in progress see the relay stopped and end (closing whatever they created).
        let pending = rebuilds.withLock { tasks in defer { tasks = [:] }; return Array(tasks.values) }
        for task in pending { task.cancel() }
        if let producer { await producer.shutdown(drainTimeout: configuration.shutdownDrainTimeout) }
        if let consumer { await consumer.shutdown() }
        for task in pending { await task.value }
        await stopProbe()
        if producer != nil || consumer != nil { logger.info("Kafka relay stopped: node \(configuration.nodeID)") }
        eventsContinuation.finish()
    }

    // MARK: Clients

    private func makeProducer(generation: Int) throws(KafkaRelayError) -> KafkaProducer {
        try KafkaProducer(
            configuration: configuration, counters: counters, logger: logger, limiter: limiter, events: eventsContinuation,
            unusable: { [weak self] reason in self?.producerUnusable(generation: generation, reason: reason) },
            acknowledged: { [weak self] in self?.machine.withLock { $0.producerWorked(generation: generation) } })
    }

    private func makeConsumer(generation: Int) throws(KafkaRelayError) -> KafkaConsumer {
        try KafkaConsumer(
            configuration: configuration, counters: counters, logger: logger, limiter: limiter, events: eventsContinuation,
            handoff: handoff,
            assignmentChanged: { [weak self] assigned in
                self?.machine.withLock { $0.consumerAssignment(generation: generation, assigned: assigned, now: .now) }
            },
            unusable: { [weak self] reason in self?.consumerUnusable(generation: generation, reason: reason) })
    }

    private func startProbe() throws(KafkaRelayError) {
        let probe = try BrokerProbe(configuration: configuration, logger: logger, limiter: limiter) { [weak self] problem in
            guard let self else { return }
            if let plan = machine.withLock({ $0.brokerProbed(problem: problem, now: .now) }) { rebuildConsumer(plan) }
        }
        self.probe.withLock { $0 = probe }
        probe.start()
    }

    private func stopProbe() async {
        let probe = self.probe.withLock { probe in defer { probe = nil }; return probe }
        await probe?.stop()
    }

    /// Raises a fabricated librdkafka fatal error in the current `role` client, for tests of the rebuild path.
    func raiseFatalErrorForTesting(in role: KafkaClientRole, reason: String = "fatal error raised by a test") {
        let (producer, consumer) = machine.withLock { $0.clients }
        switch role {
        case .producer: producer?.raiseFatalErrorForTesting(reason)
        case .consumer: consumer?.raiseFatalErrorForTesting(reason)
        }
    }

    // MARK: Rebuilds

    private func producerUnusable(generation: Int, reason: String) {
        guard let plan = machine.withLock({ $0.producerFailed(generation: generation, reason: reason) }) else { return }
        rebuildProducer(plan)
    }

    private func consumerUnusable(generation: Int, reason: String) {
        guard let plan = machine.withLock({ $0.consumerFailed(generation: generation, reason: reason) }) else { return }
        rebuildConsumer(plan)
    }

    /// Replaces the failed producer: its pending publishes fail with ``ChatRelayError/rebuilding``; publishes
    /// fail fast the same way until the new producer is in place (after the backoff delay).
    private func rebuildProducer(_ plan: RebuildPlan<KafkaProducer>) {
        announce(.producer, plan)
        startRebuild(.producer) { [self] in
            await plan.old?.shutdown(drainTimeout: .zero, abandoned: .rebuilding)
            var delay = plan.delay
            while true {
                try? await Task.sleep(for: delay)
                guard machine.withLock({ $0.isRebuilding(.producer, generation: plan.generation) }) else { return }
                do {
                    let producer = try makeProducer(generation: plan.generation)
                    producer.startPolling()
                    guard machine.withLock({ $0.rebuilt(producer: producer, generation: plan.generation) }) else {
                        await producer.shutdown(drainTimeout: .zero)
                        return
                    }
                    rebuilt(.producer)
                    return
                } catch {
                    logger.warning("could not recreate the Kafka producer: \(error)")
                    guard let next = machine.withLock({ $0.rebuildAttemptFailed(.producer, generation: plan.generation) }) else { return }
                    delay = next
                }
            }
        }
    }

    /// Replaces the failed consumer once the old one closed (two consumers never share the node's group); the new
    /// one resumes at the group's committed offsets (or where the old one stopped, when it never committed), and
    /// the handed-over duplicate window drops what was delivered already.
    private func rebuildConsumer(_ plan: RebuildPlan<KafkaConsumer>) {
        announce(.consumer, plan)
        startRebuild(.consumer) { [self] in
            await plan.old?.shutdown()
            try? await Task.sleep(for: plan.delay)
            guard machine.withLock({ $0.isRebuilding(.consumer, generation: plan.generation) }),
                let sink = sink.withLock({ $0 })
            else { return }
            let consumer: KafkaConsumer
            do {
                consumer = try makeConsumer(generation: plan.generation)
            } catch {
                logger.warning("could not recreate the Kafka consumer: \(error)")
                if let delay = machine.withLock({ $0.rebuildAttemptFailed(.consumer, generation: plan.generation) }) {
                    // Same generation, next attempt: a fresh plan without an old client to close.
                    rebuildConsumer(RebuildPlan(old: nil, generation: plan.generation, delay: delay, reason: plan.reason))
                }
                return
            }
            guard machine.withLock({ $0.rebuilt(consumer: consumer, generation: plan.generation, now: .now) }) else {
                await consumer.shutdown()
                return
            }
            rebuilt(.consumer)
            do {
                // No join deadline: after an outage a join can take about two session timeouts, and giving up
                // early only starts it over. A consumer that stays without partitions is replaced by the stuck
                // check (consumerStuckTimeout).
                try await consumer.start(deliveringTo: sink, timeout: nil, groupID: configuration.groupID)
            } catch {
                consumerUnusable(generation: plan.generation, reason: "\(error)")
            }
        }
    }

    private func announce<Client>(_ role: KafkaClientRole, _ plan: RebuildPlan<Client>) {
        if plan.old != nil { counters.rebuildStarted(role) }
        logger.warning("Kafka \(role.rawValue) unusable (\(plan.reason)); recreating it in \(plan.delay)")
        eventsContinuation.yield(.rebuilding(client: role.rawValue, reason: plan.reason, delay: plan.delay))
    }

    private func rebuilt(_ role: KafkaClientRole) {
        logger.info("Kafka \(role.rawValue) recreated")
        eventsContinuation.yield(.rebuilt(client: role.rawValue))
    }

    /// Runs `body` as the rebuild task of `role`, tracked so that `shutdown` waits for it.
    private func startRebuild(_ role: KafkaClientRole, _ body: @escaping @Sendable () async -> Void) {
        let task = Task { await body() }
        rebuilds.withLock { $0[role] = task }
    }
}
