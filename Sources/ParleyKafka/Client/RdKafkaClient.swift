import CRdKafka
import Foundation
import Logging

/// What librdkafka's C callbacks reach through the handle's opaque pointer.
///
/// Owned by the ``RdKafkaClient``; it outlives the handle because the client destroys the handle (which joins
/// librdkafka's threads) before releasing it.
final class RdKafkaCallbackContext: Sendable {
    /// Receives librdkafka's log lines (called from librdkafka's internal threads).
    let logger: Logger
    /// Keeps repeated lines (reconnect failures) from flooding the log.
    let limiter: LogRateLimiter
    /// Consumer rebalance handler; runs on the thread calling `rd_kafka_consumer_poll` / `consumer_close`.
    let rebalance: (@Sendable (OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)?

    init(
        logger: Logger,
        limiter: LogRateLimiter,
        rebalance: (@Sendable (OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)? = nil
    ) {
        self.logger = logger
        self.limiter = limiter
        self.rebalance = rebalance
    }
}

/// The one type that owns a librdkafka handle (`rd_kafka_t`), producer or consumer.
///
/// librdkafka handles are thread-safe for the calls made here (produce, poll, metadata, admin), which is why
/// the class is `@unchecked Sendable`. ``destroy()`` must be called exactly once, by the thread that polls the
/// handle, after polling stopped.
final class RdKafkaClient: @unchecked Sendable {
    /// Which kind of librdkafka instance this is.
    enum Kind: Sendable {
        /// Produces; delivery reports and errors arrive as events on the main queue.
        case producer
        /// Short-lived producer-type handle for metadata and admin requests (results on their own queues).
        case admin
        /// Consumes in a group; rebalances go through the context's handler.
        case consumer
    }

    let kind: Kind
    /// The librdkafka handle.
    let handle: OpaquePointer
    private let context: RdKafkaCallbackContext

    /// Creates the handle from `properties`. Producers get delivery reports and errors as queue events.
    init(kind: Kind, properties: [String: String], context: RdKafkaCallbackContext) throws(KafkaRelayError) {
        let conf = rd_kafka_conf_new()
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, &errorText, errorText.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw .invalidConfiguration(Self.text(errorText))
            }
        }
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { handle, level, facility, message in
            guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
            let context = Unmanaged<RdKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
            let text = message.map { String(cString: $0) } ?? ""
            let facilityText = facility.map { String(cString: $0) } ?? ""
            guard context.limiter.shouldLog("\(level) \(facilityText)") else { return }
            context.logger.log(level: Logger.Level(syslogLevel: level), "librdkafka \(facilityText): \(text)")
        }
        switch kind {
        case .producer:
            rd_kafka_conf_set_events(conf, Int32(RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR))
        case .admin:
            break
        case .consumer:
            if context.rebalance != nil {
                rd_kafka_conf_set_rebalance_cb(conf) { handle, error, partitions, opaque in
                    guard let handle, let partitions, let opaque else { return }
                    let context = Unmanaged<RdKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
                    context.rebalance?(handle, error, partitions)
                }
            }
        }
        let type = kind == .consumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER
        guard let handle = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)  // rd_kafka_new only takes ownership on success
            throw .invalidConfiguration(Self.text(errorText))
        }
        self.kind = kind
        self.handle = handle
        self.context = context
    }

    /// Asks the cluster for its topics; throws ``KafkaRelayError/brokerUnreachable(bootstrapServers:reason:)``
    /// when no broker answers within `timeoutMilliseconds`. Returns whether `topic` exists. Blocking.
    func topicExists(_ topic: String, bootstrapServers: String, timeoutMilliseconds: Int) throws(KafkaRelayError) -> Bool {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let error = rd_kafka_metadata(handle, 1, nil, &metadata, Int32(clamping: timeoutMilliseconds))
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw .brokerUnreachable(bootstrapServers: bootstrapServers, reason: Self.describe(error) + " after \(timeoutMilliseconds) ms")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        let topics = UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
        return topics.contains { String(cString: $0.topic) == topic && $0.err == RD_KAFKA_RESP_ERR_NO_ERROR }
    }

    /// Creates `topic` through the admin API; an existing topic counts as success. Blocking.
    func createTopic(_ topic: String, partitions: Int, replicationFactor: Int, timeoutMilliseconds: Int) throws(KafkaRelayError) {
        var errorText = [CChar](repeating: 0, count: 512)
        guard
            let newTopic = rd_kafka_NewTopic_new(
                topic, Int32(clamping: partitions), Int32(clamping: replicationFactor), &errorText, errorText.count)
        else { throw .topicUnavailable(topic: topic, reason: Self.text(errorText)) }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        let timeout = Int32(clamping: timeoutMilliseconds)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeout, &errorText, errorText.count)
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeout, &errorText, errorText.count)
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        var newTopics: [OpaquePointer?] = [newTopic]
        rd_kafka_CreateTopics(handle, &newTopics, 1, options, queue)
        guard let event = rd_kafka_queue_poll(queue, timeout + 1000) else {
            throw .topicUnavailable(topic: topic, reason: "no CreateTopics answer within \(timeoutMilliseconds) ms")
        }
        defer { rd_kafka_event_destroy(event) }
        let requestError = rd_kafka_event_error(event)
        if requestError != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw .topicUnavailable(topic: topic, reason: String(cString: rd_kafka_event_error_string(event)))
        }
        var count = 0
        guard let result = rd_kafka_event_CreateTopics_result(event),
            let results = rd_kafka_CreateTopics_result_topics(result, &count)
        else { throw .topicUnavailable(topic: topic, reason: "empty CreateTopics result") }
        for index in 0..<count {
            let topicError = rd_kafka_topic_result_error(results[index])
            if topicError != RD_KAFKA_RESP_ERR_NO_ERROR && topicError != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                let text = rd_kafka_topic_result_error_string(results[index]).map { String(cString: $0) }
                throw .topicUnavailable(topic: topic, reason: text ?? Self.describe(topicError))
            }
        }
    }

    /// Reaches the broker and creates the configured topic if it is missing, with a short-lived handle of its own:
    /// the producer must not ask for the topic first, or the broker would auto-create it with its default
    /// partition count. Blocking: call off the concurrency pool.
    static func prepareTopic(_ configuration: KafkaRelayConfiguration, logger: Logger, limiter: LogRateLimiter) throws(KafkaRelayError) {
        let admin = try RdKafkaClient(
            kind: .admin, properties: configuration.adminProperties,
            context: RdKafkaCallbackContext(logger: logger, limiter: limiter))
        defer { admin.destroy() }
        let timeout = configuration.startupTimeout.milliseconds
        let exists = try admin.topicExists(
            configuration.topic, bootstrapServers: configuration.bootstrapServers, timeoutMilliseconds: timeout)
        if !exists {
            try admin.createTopic(
                configuration.topic, partitions: configuration.partitions,
                replicationFactor: configuration.replicationFactor, timeoutMilliseconds: timeout)
            logger.info("created Kafka topic \(configuration.topic) with \(configuration.partitions) partitions")
        }
    }

    /// librdkafka's fatal error on this handle (`rd_kafka_fatal_error`), nil while there is none. A client with a
    /// fatal error never works again: it must be destroyed and recreated.
    func fatalError() -> String? {
        var text = [CChar](repeating: 0, count: 512)
        guard rd_kafka_fatal_error(handle, &text, text.count) != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return Self.text(text)
    }

    /// Destroys the handle; joins librdkafka's threads. Call once, after polling stopped.
    ///
    /// `afterFatalError`: a consumer with a fatal error cannot close (`rd_kafka_consumer_close` returns at once
    /// and a plain `rd_kafka_destroy` then waits forever for its group to terminate); librdkafka tears it down
    /// without leaving the group instead (`RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE`).
    func destroy(afterFatalError: Bool = false) {
        if afterFatalError {
            rd_kafka_destroy_flags(handle, Int32(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE))
        } else {
            rd_kafka_destroy(handle)
        }
    }

    /// The NUL-terminated text librdkafka wrote into `buffer`.
    static func text(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// librdkafka's text for `error`.
    static func describe(_ error: rd_kafka_resp_err_t) -> String {
        String(cString: rd_kafka_err2str(error))
    }
}

extension Logger.Level {
    /// Maps librdkafka's syslog levels; notices and info are debug here because librdkafka is chatty.
    init(syslogLevel: Int32) {
        switch syslogLevel {
        case ...3: self = .error
        case 4: self = .warning
        case 5, 6: self = .debug
        default: self = .trace
        }
    }
}

/// Runs blocking librdkafka work on a dedicated thread so that it never blocks the cooperative pool.
func runOnDedicatedThread<Result: Sendable>(
    named name: String, _ body: @escaping @Sendable () throws -> Result
) async throws -> Result {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
        let thread = Thread {
            continuation.resume(with: Swift.Result { try body() })
        }
        thread.name = name
        thread.start()
    }
}
