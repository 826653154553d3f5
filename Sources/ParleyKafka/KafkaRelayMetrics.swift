import Synchronization

/// A snapshot of a relay's counters since it was created.
public struct KafkaRelayMetrics: Sendable, Equatable {
    /// Events handed to librdkafka by `publish`.
    public var produced: Int
    /// Publishes the broker acknowledged (completed with success).
    public var acknowledged: Int
    /// Publishes that completed with a failure (timeout, queue full, shutdown, …).
    public var publishFailures: Int
    /// Events read from the topic and handed to the sink.
    public var delivered: Int
    /// Redelivered events dropped because their message id was seen recently.
    public var duplicatesDropped: Int
    /// Records on the topic that were not chat events (skipped, offset still committed).
    public var malformedRecords: Int
    /// Errors reported by librdkafka (connection losses, fatal errors, consumer errors).
    public var errors: Int
    /// Times a fetch skipped offsets and the consumer sought back to read them (see docs/kafka.md).
    public var gapsRefetched: Int
}

/// The live counters behind ``KafkaRelayMetrics``; updated from the poll threads without locks.
final class KafkaRelayCounters: Sendable {
    let produced = Atomic<Int>(0)
    let acknowledged = Atomic<Int>(0)
    let publishFailures = Atomic<Int>(0)
    let delivered = Atomic<Int>(0)
    let duplicatesDropped = Atomic<Int>(0)
    let malformedRecords = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
    let gapsRefetched = Atomic<Int>(0)

    var snapshot: KafkaRelayMetrics {
        KafkaRelayMetrics(
            produced: produced.load(ordering: .relaxed), acknowledged: acknowledged.load(ordering: .relaxed),
            publishFailures: publishFailures.load(ordering: .relaxed), delivered: delivered.load(ordering: .relaxed),
            duplicatesDropped: duplicatesDropped.load(ordering: .relaxed),
            malformedRecords: malformedRecords.load(ordering: .relaxed), errors: errors.load(ordering: .relaxed),
            gapsRefetched: gapsRefetched.load(ordering: .relaxed))
    }
}

extension Atomic where Value == Int {
    /// Adds one, relaxed: counters need no ordering with other memory.
    func increment(by amount: Int = 1) { _ = wrappingAdd(amount, ordering: .relaxed) }
}
