import CRdKafka
import Foundation
import Logging
import ParleyRelay
import Synchronization

/// A librdkafka handle pointer that may cross threads (librdkafka's topic handles are thread-safe).
struct SendablePointer: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// The relay's producer: `acks=all`, one request in flight per broker (per-room order), one delivery report per
/// publish.
///
/// Publishes run on the caller's thread (`rd_kafka_produceva` does not block); delivery reports are served by
/// a dedicated poll thread, which runs the completions. A fatal error, or a delivery report saying the broker no
/// longer accepts this producer (fenced, unknown producer id), is reported once through `unusable`: the relay
/// then replaces the producer (see docs/kafka.md, "Recovery").
final class KafkaProducer: Sendable {
    private let client: RdKafkaClient
    private let topic: SendablePointer
    private let topicName: String
    private let state = Mutex(ProducerStateMachine())
    private let counters: KafkaRelayCounters
    private let logger: Logger
    private let limiter: LogRateLimiter
    private let events: AsyncStream<KafkaRelayEvent>.Continuation
    private let messageTimeoutMilliseconds: Int
    private let unusable: @Sendable (String) -> Void
    private let acknowledged: @Sendable () -> Void
    private let reportedUnusable = Atomic<Bool>(false)
    private let reportedAcknowledgement = Atomic<Bool>(false)

    /// Creates the handle (nothing is sent until the first request). Throws on a rejected configuration.
    ///
    /// `unusable` runs once (on the poll thread or a publisher's) when this producer can no longer deliver;
    /// `acknowledged` runs once, after the first acknowledgement.
    init(
        configuration: KafkaRelayConfiguration, counters: KafkaRelayCounters, logger: Logger, limiter: LogRateLimiter,
        events: AsyncStream<KafkaRelayEvent>.Continuation,
        unusable: @escaping @Sendable (String) -> Void = { _ in }, acknowledged: @escaping @Sendable () -> Void = {}
    ) throws(KafkaRelayError) {
        client = try RdKafkaClient(
            kind: .producer, properties: configuration.producerProperties, context: RdKafkaCallbackContext(logger: logger, limiter: limiter))
        guard let topic = rd_kafka_topic_new(client.handle, configuration.topic, nil) else {
            client.destroy()
            throw .topicUnavailable(topic: configuration.topic, reason: RdKafkaClient.describe(rd_kafka_last_error()))
        }
        self.topic = SendablePointer(pointer: topic)
        self.topicName = configuration.topic
        self.counters = counters
        self.logger = logger
        self.limiter = limiter
        self.events = events
        self.messageTimeoutMilliseconds = configuration.messageTimeout.milliseconds
        self.unusable = unusable
        self.acknowledged = acknowledged
    }

    /// librdkafka's fatal error on this producer, nil while there is none.
    var fatalError: String? { client.fatalError() }

    /// Raises a fabricated fatal error (`rd_kafka_test_fatal_error`, librdkafka's hook for testing exactly
    /// this path); the producer then reports itself unusable like after a real one.
    func raiseFatalErrorForTesting(_ reason: String) {
        _ = rd_kafka_test_fatal_error(client.handle, RD_KAFKA_RESP_ERR_PRODUCER_FENCED, reason)
    }

    /// Starts the delivery-report poll thread.
    func startPolling() {
        let thread = Thread { [self] in pollUntilFinished() }
        thread.name = "kafka-producer"
        thread.start()
    }

    /// Produces `event` keyed by its room; `completion` runs once the broker acknowledged it, or failed.
    func publish(_ event: ChatEvent, completion: @escaping ProducerStateMachine.Completion) {
        let id: UInt
        switch state.withLock({ $0.publish(completion) }) {
        case .fail(let error):
            counters.publishFailures.increment()
            completion(.failure(error))
            return
        case .produce(let assigned):
            id = assigned
        }
        let error = produce(key: Array(event.roomId.utf8), value: event.jsonBytes, messageID: event.messageId, opaque: id)
        if error == RD_KAFKA_RESP_ERR_NO_ERROR {
            counters.produced.increment()
        } else if let completion = state.withLock({ $0.produceFailed(id: id) }) {
            counters.publishFailures.increment()
            if limiter.shouldLog("refused \(error.rawValue)") { logger.warning("Kafka refused a message: \(RdKafkaClient.describe(error))") }
            checkUsable(after: error)
            completion(.failure(Self.clientSafeError(for: error, timeoutMilliseconds: messageTimeoutMilliseconds)))
        }
    }

    /// Reports this producer unusable (once) when librdkafka raised a fatal error or `error` means the broker no
    /// longer accepts it.
    private func checkUsable(after error: rd_kafka_resp_err_t) {
        let reason: String
        if let fatal = client.fatalError() {
            reason = fatal
        } else if Self.producerSessionLost.contains(error) {
            reason = RdKafkaClient.describe(error)
        } else {
            return
        }
        guard !reportedUnusable.exchange(true, ordering: .relaxed) else { return }
        logger.error("Kafka producer unusable: \(reason)")
        unusable(reason)
    }

    /// Delivery errors after which this producer never delivers again (librdkafka keeps its producer id and
    /// epoch; only a new producer gets a fresh one). `PRODUCER_FENCED` is what an idempotent producer gets from
    /// Tansu after its in-flight messages timed out (docs/kafka.md, "Why the producer was fenced").
    static let producerSessionLost: Set<rd_kafka_resp_err_t> = [
        RD_KAFKA_RESP_ERR__FATAL, RD_KAFKA_RESP_ERR_PRODUCER_FENCED, RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH,
        RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
        RD_KAFKA_RESP_ERR_INVALID_PRODUCER_ID_MAPPING,
    ]

    /// One `rd_kafka_produceva` call (the variadic `rd_kafka_producev` is not importable into Swift).
    private func produce(key: [UInt8], value: [UInt8], messageID: String, opaque: UInt) -> rd_kafka_resp_err_t {
        key.withUnsafeBytes { key in
            value.withUnsafeBytes { value in
                messageID.withCString { messageID in
                    Self.messageIDHeader.withCString { headerName in
                        var fields = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 6)
                        fields[0].vtype = RD_KAFKA_VTYPE_RKT
                        fields[0].u.rkt = topic.pointer
                        fields[1].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                        fields[1].u.i = RD_KAFKA_MSG_F_COPY
                        fields[2].vtype = RD_KAFKA_VTYPE_KEY
                        fields[2].u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                        fields[2].u.mem.size = key.count
                        fields[3].vtype = RD_KAFKA_VTYPE_VALUE
                        fields[3].u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                        fields[3].u.mem.size = value.count
                        fields[4].vtype = RD_KAFKA_VTYPE_HEADER
                        fields[4].u.header.name = headerName
                        fields[4].u.header.val = UnsafeRawPointer(messageID)
                        fields[4].u.header.size = strlen(messageID)
                        fields[5].vtype = RD_KAFKA_VTYPE_OPAQUE
                        fields[5].u.ptr = UnsafeMutableRawPointer(bitPattern: opaque)
                        guard let error = rd_kafka_produceva(client.handle, fields, fields.count) else {
                            return RD_KAFKA_RESP_ERR_NO_ERROR
                        }
                        defer { rd_kafka_error_destroy(error) }
                        return rd_kafka_error_code(error)
                    }
                }
            }
        }
    }

    /// Stops accepting publishes, waits up to `drainTimeout` for outstanding acknowledgements, fails the rest
    /// with `abandoned`, and destroys the handle.
    func shutdown(
        drainTimeout: Duration, abandoned: ChatRelayError = ChatRelayError("relay shut down before Kafka acknowledged the message")
    ) async {
        await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
            let deadline = ContinuousClock.now.advanced(by: drainTimeout)
            if !state.withLock({ $0.beginDrain(deadline: deadline, abandonWith: abandoned, finished: finished) }) { finished.resume() }
        }
    }

    /// The poll thread: serves delivery reports and errors until shutdown finished draining.
    private func pollUntilFinished() {
        let queue = rd_kafka_queue_get_main(client.handle)
        while true {
            if let event = rd_kafka_queue_poll(queue, 50) {
                handle(event)
                rd_kafka_event_destroy(event)
            }
            guard case .stop(let abandoned, let error, let finished) = state.withLock({ $0.afterPoll(now: .now) }) else { continue }
            rd_kafka_queue_destroy(queue)
            _ = rd_kafka_purge(client.handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            rd_kafka_topic_destroy(topic.pointer)
            client.destroy()
            if !abandoned.isEmpty {
                logger.warning("Kafka producer closed with \(abandoned.count) unacknowledged publishes: \(error)")
                counters.publishFailures.increment(by: abandoned.count)
            }
            for completion in abandoned { completion(.failure(error)) }
            finished.resume()
            return
        }
    }

    private func handle(_ event: OpaquePointer) {
        switch rd_kafka_event_type(event) {
        case Int32(RD_KAFKA_EVENT_DR):
            while let message = rd_kafka_event_message_next(event) {
                let id = UInt(bitPattern: message.pointee._private)
                let error = message.pointee.err
                guard let completion = state.withLock({ $0.deliveryReported(id: id) }) else { continue }
                if error == RD_KAFKA_RESP_ERR_NO_ERROR {
                    counters.acknowledged.increment()
                    if !reportedAcknowledgement.exchange(true, ordering: .relaxed) { acknowledged() }
                    completion(.success(()))
                } else {
                    counters.publishFailures.increment()
                    if limiter.shouldLog("not stored \(error.rawValue)") {
                        logger.warning("Kafka did not store a message: \(RdKafkaClient.describe(error))")
                    }
                    checkUsable(after: error)
                    completion(.failure(Self.clientSafeError(for: error, timeoutMilliseconds: messageTimeoutMilliseconds)))
                }
            }
        case Int32(RD_KAFKA_EVENT_ERROR):
            let fatal = rd_kafka_event_error_is_fatal(event) != 0
            let text = String(cString: rd_kafka_event_error_string(event))
            counters.errors.increment()
            if fatal {
                logger.error("Kafka producer fatal error: \(text)")
                checkUsable(after: RD_KAFKA_RESP_ERR__FATAL)
            } else if limiter.shouldLog("producer error \(rd_kafka_event_error(event).rawValue)") {
                logger.warning("Kafka producer error: \(text)")
            }
            events.yield(.error(text, fatal: fatal))
        default:
            break
        }
    }

    /// Publish failures as a client may see them (no broker addresses or internals).
    static func clientSafeError(for error: rd_kafka_resp_err_t, timeoutMilliseconds: Int) -> ChatRelayError {
        switch error {
        case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT:
            ChatRelayError("message not delivered: Kafka did not acknowledge it within \(timeoutMilliseconds) ms")
        case RD_KAFKA_RESP_ERR__QUEUE_FULL:
            ChatRelayError("message not delivered: the relay's send queue is full, retry later")
        case RD_KAFKA_RESP_ERR__PURGE_QUEUE, RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
            ChatRelayError("message not delivered: the relay is shutting down")
        case _ where producerSessionLost.contains(error):
            ChatRelayError.rebuilding
        default:
            ChatRelayError("message not delivered: Kafka error \(RdKafkaClient.describe(error))")
        }
    }

    /// The Kafka header carrying the event's message id.
    static let messageIDHeader = "messageId"
}
