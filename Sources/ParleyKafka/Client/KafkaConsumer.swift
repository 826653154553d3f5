import CRdKafka
import Foundation
import Logging
import ParleyRelay
import Synchronization

/// The relay's consumer: one consumer group per node, so every node reads every partition.
///
/// A dedicated thread polls librdkafka, drops redelivered duplicates, hands events to the sink and only then
/// stores the offset; librdkafka commits stored offsets in the background and on close, so a restarted node
/// resumes where it stopped. On a fatal error the poll thread closes the consumer, then reports it through
/// `unusable` so that the relay creates a new one.
final class KafkaConsumer: Sendable {
    private let client: RdKafkaClient
    private let shared: Shared
    private let topic: String
    private let handoff: ConsumerHandoff
    private let unusable: @Sendable (String) -> Void

    /// What the poll thread and the rebalance callback share.
    private final class Shared: Sendable {
        let state = Mutex(ConsumerStateMachine())
        let counters: KafkaRelayCounters
        let logger: Logger
        let limiter: LogRateLimiter
        let events: AsyncStream<KafkaRelayEvent>.Continuation
        let lookupTimeoutMilliseconds: Int32
        /// Bumped on every assignment change, so the poll thread forgets its per-partition expectations.
        let assignmentGeneration = Atomic<Int>(0)
        /// Where each newly assigned partition starts, for the gap detector (written by the rebalance callback).
        let startOffsets = Mutex<[Int32: Int64]>([:])
        /// Told whether the consumer holds partitions after every assignment change.
        let assignmentChanged: @Sendable (Bool) -> Void
        /// What the consumer this one replaces left behind.
        let handoff: ConsumerHandoff

        init(
            counters: KafkaRelayCounters, logger: Logger, limiter: LogRateLimiter,
            events: AsyncStream<KafkaRelayEvent>.Continuation, lookupTimeoutMilliseconds: Int32,
            assignmentChanged: @escaping @Sendable (Bool) -> Void, handoff: ConsumerHandoff
        ) {
            self.counters = counters
            self.logger = logger
            self.limiter = limiter
            self.events = events
            self.lookupTimeoutMilliseconds = lookupTimeoutMilliseconds
            self.assignmentChanged = assignmentChanged
            self.handoff = handoff
        }
    }

    /// Creates the consumer handle; nothing is sent before ``start(deliveringTo:timeout:groupID:)``.
    ///
    /// `handoff` carries the duplicate window and positions between this consumer and the one that replaces it
    /// (see ``ConsumerHandoff``); `assignmentChanged` is
    /// told whether partitions are held after each rebalance; `unusable` runs once, after the consumer closed
    /// itself on a fatal error.
    init(
        configuration: KafkaRelayConfiguration, counters: KafkaRelayCounters, logger: Logger, limiter: LogRateLimiter,
        events: AsyncStream<KafkaRelayEvent>.Continuation, handoff: ConsumerHandoff,
        assignmentChanged: @escaping @Sendable (Bool) -> Void = { _ in }, unusable: @escaping @Sendable (String) -> Void = { _ in }
    ) throws(KafkaRelayError) {
        let shared = Shared(
            counters: counters, logger: logger, limiter: limiter, events: events,
            lookupTimeoutMilliseconds: Int32(clamping: configuration.startupTimeout.milliseconds),
            assignmentChanged: assignmentChanged, handoff: handoff)
        let context = RdKafkaCallbackContext(logger: logger, limiter: limiter) { handle, error, partitions in
            Self.rebalance(handle: handle, error: error, partitions: partitions, shared: shared)
        }
        client = try RdKafkaClient(kind: .consumer, properties: configuration.consumerProperties, context: context)
        self.shared = shared
        self.topic = configuration.topic
        self.handoff = handoff
        self.unusable = unusable
    }

    /// Subscribes, starts the poll thread and returns once the group assigned partitions (or throws after
    /// `timeout`; nil: waits as long as the join takes, until shutdown).
    func start(deliveringTo sink: any ChatEventSink, timeout: Duration?, groupID: String) async throws {
        rd_kafka_poll_set_consumer(client.handle)
        let subscription = rd_kafka_topic_partition_list_new(1)
        rd_kafka_topic_partition_list_add(subscription, topic, RD_KAFKA_PARTITION_UA)
        let error = rd_kafka_subscribe(client.handle, subscription)
        rd_kafka_topic_partition_list_destroy(subscription)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            client.destroy()
            throw KafkaRelayError.topicUnavailable(topic: topic, reason: RdKafkaClient.describe(error))
        }
        try await withCheckedThrowingContinuation { (ready: CheckedContinuation<Void, any Error>) in
            let deadline = timeout.map { ContinuousClock.now.advanced(by: $0) }
            guard shared.state.withLock({ $0.beginJoining(deadline: deadline, ready: ready) }) else {
                ready.resume(throwing: KafkaRelayError.alreadyStarted)
                return
            }
            let thread = Thread { [self] in
                pollUntilClosed(sink: sink, timeout: timeout, groupID: groupID)
            }
            thread.name = "kafka-consumer"
            thread.start()
        }
    }

    /// Raises a fabricated fatal error (`rd_kafka_test_fatal_error`, librdkafka's hook for testing exactly
    /// this path); the poll thread then closes the consumer and reports it unusable like after a real one.
    func raiseFatalErrorForTesting(_ reason: String) {
        _ = rd_kafka_test_fatal_error(client.handle, RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID, reason)
    }

    /// Leaves the group (committing stored offsets) and destroys the handle.
    func shutdown() async {
        await withCheckedContinuation { (closed: CheckedContinuation<Void, Never>) in
            switch shared.state.withLock({ $0.beginShutdown(closed: closed) }) {
            case .resumeNow:
                closed.resume()
            case .wait(let pendingStart):
                pendingStart?.resume(throwing: ChatRelayError.notRunning)
            }
        }
    }

    /// Most records handed to the sink in one batch.
    private static let batchLimit = 256

    /// The poll thread.
    private func pollUntilClosed(sink: any ChatEventSink, timeout: Duration?, groupID: String) {
        var recent = handoff.checkOut()
        var fatal: String?
        var gaps = OffsetGapDetector()
        var generation = shared.assignmentGeneration.load(ordering: .acquiring)
        loop: while true {
            switch shared.state.withLock({ $0.beforePoll(now: .now) }) {
            case .keepPolling:
                break
            case .joinTimedOut(let ready):
                ready.resume(throwing: KafkaRelayError.groupJoinTimedOut(groupID: groupID, seconds: timeout?.seconds ?? 0))
                break loop
            case .close:
                break loop
            }
            guard let first = rd_kafka_consumer_poll(client.handle, 100) else { continue }
            // Whatever else is already fetched joins the batch (polled without waiting), so that the sink gets
            // events in batches: one hand-off per event loop per batch instead of one per event.
            var polled = [first]
            while polled.count < Self.batchLimit, let next = rd_kafka_consumer_poll(client.handle, 0) { polled.append(next) }
            var batch: [ChatEvent] = []
            batch.reserveCapacity(polled.count)
            // Records whose offset may be stored once the batch is delivered: not errors, and not records of a
            // partition being re-fetched (its later records in this batch are stale: the seek brings them again).
            var consumed = [Bool](repeating: false, count: polled.count)
            var refetching: Set<Int32> = []
            for (index, message) in polled.enumerated() {
                let record = message.pointee
                let current = shared.assignmentGeneration.load(ordering: .acquiring)
                if current != generation {
                    generation = current
                    gaps = OffsetGapDetector(expecting: shared.startOffsets.withLock { $0 })
                }
                guard record.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    reportError(message)
                    if fatal == nil, let reason = client.fatalError() ?? (record.err == RD_KAFKA_RESP_ERR__FATAL ? "fatal error" : nil) {
                        fatal = reason
                        shared.logger.error("Kafka consumer fatal error: \(reason); closing it")
                        if case .failStart(let ready) = shared.state.withLock({ $0.fatalError() }) {
                            ready.resume(throwing: KafkaRelayError.clientFailed(client: "consumer", reason: reason))
                        }
                    }
                    continue
                }
                if refetching.contains(record.partition) { continue }
                if case .refetch(let from) = gaps.check(partition: record.partition, offset: record.offset) {
                    refetching.insert(record.partition)
                    refetch(message, from: from)
                    continue
                }
                consumed[index] = true
                if let event = accept(message, recent: &recent) { batch.append(event) }
            }
            if !batch.isEmpty {
                sink.deliver(contentsOf: batch)
                shared.counters.delivered.increment(by: batch.count)
            }
            // Offsets are stored only once the sink has the events.
            for (index, message) in polled.enumerated() {
                let record = message.pointee
                if consumed[index] { _ = rd_kafka_offset_store(record.rkt, record.partition, record.offset) }
                rd_kafka_message_destroy(message)
            }
        }
        handoff.checkIn(recent, positions: positions())
        if fatal == nil {
            // Commit what the sink got, then leave the group so a restart rejoins without waiting for the session.
            _ = rd_kafka_commit(client.handle, nil, 0)
            _ = rd_kafka_consumer_close(client.handle)
        }
        client.destroy(afterFatalError: fatal != nil)
        shared.assignmentChanged(false)
        shared.state.withLock { $0.didClose() }?.resume()
        // Reported only once the handle is gone, so that its replacement never shares the group with it.
        if let fatal { unusable(fatal) }
    }

    /// The next offset to read of each assigned partition (everything before it was handed to the sink).
    private func positions() -> [Int32: Int64] {
        var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(client.handle, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR, let assignment else { return [:] }
        defer { rd_kafka_topic_partition_list_destroy(assignment) }
        guard rd_kafka_position(client.handle, assignment) == RD_KAFKA_RESP_ERR_NO_ERROR else { return [:] }
        var positions: [Int32: Int64] = [:]
        for index in 0..<Int(assignment.pointee.cnt) where assignment.pointee.elems[index].offset >= 0 {
            positions[assignment.pointee.elems[index].partition] = assignment.pointee.elems[index].offset
        }
        return positions
    }

    /// A fetch skipped offsets (seen with Tansu 0.6 while tailing under concurrent producers): seek back so
    /// the skipped records are fetched again; records delivered twice are then dropped by message id.
    private func refetch(_ message: UnsafeMutablePointer<rd_kafka_message_t>, from offset: Int64) {
        let record = message.pointee
        shared.counters.gapsRefetched.increment()
        if shared.limiter.shouldLog("gap \(record.partition)") {
            shared.logger.warning(
                "Kafka fetch skipped offsets \(offset)..<\(record.offset) of partition \(record.partition); fetching them again")
        }
        let error = rd_kafka_seek(record.rkt, record.partition, offset, 0)
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            shared.logger.warning("could not seek back to offset \(offset): \(RdKafkaClient.describe(error))")
        }
    }

    private func reportError(_ message: UnsafeMutablePointer<rd_kafka_message_t>) {
        let record = message.pointee
        let text = rd_kafka_message_errstr(message).map { String(cString: $0) } ?? RdKafkaClient.describe(record.err)
        shared.counters.errors.increment()
        if shared.limiter.shouldLog("consumer error \(record.err.rawValue)") {
            shared.logger.warning("Kafka consumer error: \(text)")
        }
        shared.events.yield(.error(text, fatal: record.err == RD_KAFKA_RESP_ERR__FATAL))
    }

    /// The chat event in a record that is not an error, or nil for a duplicate (dropped by message id) or a
    /// record that is not a chat event.
    private func accept(_ message: UnsafeMutablePointer<rd_kafka_message_t>, recent: inout RecentMessageIDs) -> ChatEvent? {
        let record = message.pointee
        // The header lets a duplicate be dropped without decoding its JSON.
        let headerID = Self.messageIDHeader(of: message)
        if let headerID, !recent.insert(headerID) {
            shared.counters.duplicatesDropped.increment()
            return nil
        }
        let value = UnsafeRawBufferPointer(start: record.payload, count: record.len)
        guard let event = try? ChatEvent.decode(bytes: value) else {
            shared.counters.malformedRecords.increment()
            shared.logger.warning("skipped a record on the Kafka topic that is not a chat event (partition \(record.partition), offset \(record.offset))")
            return nil
        }
        if headerID == nil, !recent.insert(event.messageId) {
            shared.counters.duplicatesDropped.increment()
            return nil
        }
        return event
    }

    private static func messageIDHeader(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> String? {
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return nil }
        var value: UnsafeRawPointer?
        var size = 0
        guard rd_kafka_header_get_last(headers, KafkaProducer.messageIDHeader, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR,
            let value
        else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: value, count: size), as: UTF8.self)
    }

    /// Applies (or removes) an assignment. New partitions start at the group's committed offset; partitions the
    /// group never committed start where a replaced consumer of this relay stopped, else at their end, and that
    /// position is stored at once, so that after any later rebalance (e.g. the broker paused past the session
    /// timeout) or rebuild nothing published since is skipped.
    private static func rebalance(
        handle: OpaquePointer, error: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>,
        shared: Shared
    ) {
        let cooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
        let ids = (0..<Int(partitions.pointee.cnt)).map { partitions.pointee.elems[$0].partition }
        switch error {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            let fresh = resolveStartOffsets(handle: handle, partitions: partitions, shared: shared)
            if cooperative {
                if let error = rd_kafka_incremental_assign(handle, partitions) { rd_kafka_error_destroy(error) }
            } else {
                _ = rd_kafka_assign(handle, partitions)
            }
            if let fresh {
                let stored = rd_kafka_offsets_store(handle, fresh)
                if stored != RD_KAFKA_RESP_ERR_NO_ERROR {
                    shared.logger.warning("could not store start offsets: \(RdKafkaClient.describe(stored))")
                }
                rd_kafka_topic_partition_list_destroy(fresh)
            }
            shared.logger.debug("Kafka partitions assigned: \(ids)")
            var starts: [Int32: Int64] = [:]
            for index in 0..<Int(partitions.pointee.cnt) where partitions.pointee.elems[index].offset >= 0 {
                starts[partitions.pointee.elems[index].partition] = partitions.pointee.elems[index].offset
            }
            shared.startOffsets.withLock { $0 = starts }
            shared.assignmentGeneration.add(1, ordering: .releasing)
            shared.events.yield(.partitionsAssigned(ids))
            shared.assignmentChanged(holdsPartitions(handle))
            shared.state.withLock { $0.partitionsAssigned() }?.resume()
        default:
            if cooperative {
                if let error = rd_kafka_incremental_unassign(handle, partitions) { rd_kafka_error_destroy(error) }
            } else {
                _ = rd_kafka_assign(handle, nil)
            }
            shared.logger.debug("Kafka partitions revoked: \(ids)")
            shared.startOffsets.withLock { $0 = [:] }
            shared.assignmentGeneration.add(1, ordering: .releasing)
            shared.events.yield(.partitionsRevoked(ids))
            shared.assignmentChanged(holdsPartitions(handle))
        }
    }

    /// Whether the consumer's current assignment is non-empty.
    private static func holdsPartitions(_ handle: OpaquePointer) -> Bool {
        var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(handle, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR, let assignment else { return false }
        defer { rd_kafka_topic_partition_list_destroy(assignment) }
        return assignment.pointee.cnt > 0
    }

    /// Fills in each partition's start offset; returns the partitions that had none committed (caller destroys):
    /// they start at the handed-over position, else at their high watermark.
    private static func resolveStartOffsets(
        handle: OpaquePointer, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>, shared: Shared
    ) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t>? {
        let error = rd_kafka_committed(handle, partitions, shared.lookupTimeoutMilliseconds)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            // Let librdkafka look the committed offsets up itself (falling back to `auto.offset.reset`).
            shared.logger.warning("could not read committed offsets (\(RdKafkaClient.describe(error))); using stored positions")
            for index in 0..<Int(partitions.pointee.cnt) { partitions.pointee.elems[index].offset = parley_rd_kafka_offset_stored }
            return nil
        }
        var fresh: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        for index in 0..<Int(partitions.pointee.cnt) {
            let partition = partitions.pointee.elems[index]
            guard partition.offset < 0 else { continue }
            if let position = shared.handoff.position(of: partition.partition) {
                partitions.pointee.elems[index].offset = position
                if fresh == nil { fresh = rd_kafka_topic_partition_list_new(partitions.pointee.cnt) }
                rd_kafka_topic_partition_list_add(fresh, partition.topic, partition.partition).pointee.offset = position
                continue
            }
            var low: Int64 = 0
            var high: Int64 = 0
            let lookup = rd_kafka_query_watermark_offsets(
                handle, partition.topic, partition.partition, &low, &high, shared.lookupTimeoutMilliseconds)
            guard lookup == RD_KAFKA_RESP_ERR_NO_ERROR else {
                partitions.pointee.elems[index].offset = parley_rd_kafka_offset_stored
                continue
            }
            partitions.pointee.elems[index].offset = high
            if fresh == nil { fresh = rd_kafka_topic_partition_list_new(partitions.pointee.cnt) }
            rd_kafka_topic_partition_list_add(fresh, partition.topic, partition.partition).pointee.offset = high
        }
        return fresh
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
