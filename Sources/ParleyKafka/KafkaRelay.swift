import Logging
import ParleyRelay
import Synchronization

/// The Kafka ``ChatRelay``: every chat node produces to one topic and consumes all of it.
///
/// Events are produced keyed by room id (idempotent producer, `acks=all`); a publish completes only after the
/// broker acknowledged it. Each node consumes the whole topic in its own consumer group `parley-<nodeID>`, so
/// every node sees every event, and commits its position after delivering to the sink, so a restarted node
/// resumes where it stopped. Redelivered events are dropped by message id. See docs/kafka.md.
///
/// ```swift
/// let relay = KafkaRelay(configuration: KafkaRelayConfiguration(bootstrapServers: "127.0.0.1:9092", nodeID: "n1"))
/// try await relay.start(deliveringTo: sink)   // checks librdkafka ≥ 2.2, creates the topic, joins the group
/// relay.publish(event) { result in … }        // completes after the broker's ack
/// await relay.shutdown()
/// ```
public final class KafkaRelay: ChatRelay {
    /// The settings this relay runs with.
    public let configuration: KafkaRelayConfiguration
    /// Observable relay events (assignments, errors). Buffers the newest 256 when nobody listens.
    public let events: AsyncStream<KafkaRelayEvent>

    private let eventsContinuation: AsyncStream<KafkaRelayEvent>.Continuation
    private let logger: Logger
    private let counters = KafkaRelayCounters()
    private let limiter = LogRateLimiter()
    private let lifecycle = Mutex(Lifecycle.created)

    private enum Lifecycle {
        case created
        case starting
        case running(KafkaProducer, KafkaConsumer)
        case shutDown
    }

    /// Creates a relay; nothing connects before ``start(deliveringTo:)``.
    public init(configuration: KafkaRelayConfiguration, logger: Logger = Logger(label: "parley.kafka")) {
        self.configuration = configuration
        self.logger = logger
        (events, eventsContinuation) = AsyncStream.makeStream(of: KafkaRelayEvent.self, bufferingPolicy: .bufferingNewest(256))
    }

    /// Counters since creation.
    public var metrics: KafkaRelayMetrics { counters.snapshot }

    /// Checks the librdkafka version and the configuration, reaches the broker, creates the topic if missing and
    /// joins the node's consumer group. Returns once partitions are assigned: events published from then on reach
    /// `sink`. Throws ``KafkaRelayError`` (within about ``KafkaRelayConfiguration/startupTimeout``) otherwise.
    public func start(deliveringTo sink: any ChatEventSink) async throws {
        try LibrdkafkaVersion.check()
        try configuration.validate()
        let mayStart = lifecycle.withLock { state in
            guard case .created = state else { return false }
            state = .starting
            return true
        }
        guard mayStart else { throw KafkaRelayError.alreadyStarted }

        let configuration = configuration
        let logger = logger
        let limiter = limiter
        let producer: KafkaProducer
        do {
            try await runOnDedicatedThread(named: "kafka-startup") {
                try RdKafkaClient.prepareTopic(configuration, logger: logger, limiter: limiter)
            }
            producer = try KafkaProducer(
                configuration: configuration, counters: counters, logger: logger, limiter: limiter, events: eventsContinuation)
        } catch {
            lifecycle.withLock { $0 = .shutDown }
            throw error
        }
        producer.startPolling()
        do {
            let consumer = try KafkaConsumer(
                configuration: configuration, counters: counters, logger: logger, limiter: limiter, events: eventsContinuation)
            try await consumer.start(deliveringTo: sink, timeout: configuration.startupTimeout, groupID: configuration.groupID)
            let stillWanted = lifecycle.withLock { state in
                guard case .starting = state else { return false }
                state = .running(producer, consumer)
                return true
            }
            if !stillWanted {
                await consumer.shutdown()
                throw ChatRelayError.notRunning
            }
        } catch {
            await producer.shutdown(drainTimeout: .zero)
            lifecycle.withLock { $0 = .shutDown }
            throw error
        }
        logger.info(
            "Kafka relay running: node \(configuration.nodeID), topic \(configuration.topic), librdkafka \(LibrdkafkaVersion.loaded)")
    }

    /// Produces `event`; `completion` runs on the relay's producer thread after the broker acknowledged it, or
    /// with a client-safe ``ChatRelayError`` (timeout, queue full, not running).
    public func publish(_ event: ChatEvent, completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        let producer = lifecycle.withLock { state -> KafkaProducer? in
            guard case .running(let producer, _) = state else { return nil }
            return producer
        }
        guard let producer else {
            counters.publishFailures.increment()
            completion(.failure(ChatRelayError.notRunning))
            return
        }
        producer.publish(event, completion: completion)
    }

    /// Stops accepting publishes, waits (up to ``KafkaRelayConfiguration/shutdownDrainTimeout``) for outstanding
    /// acknowledgements, fails the rest, commits the consumer's position and leaves the group.
    public func shutdown() async {
        let previous = lifecycle.withLock { state -> Lifecycle in
            defer { state = .shutDown }
            return state
        }
        if case .running(let producer, let consumer) = previous {
            await producer.shutdown(drainTimeout: configuration.shutdownDrainTimeout)
            await consumer.shutdown()
            logger.info("Kafka relay stopped: node \(configuration.nodeID)")
        }
        eventsContinuation.finish()
    }
}
