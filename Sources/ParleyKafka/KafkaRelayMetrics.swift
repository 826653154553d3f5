import Metrics
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
    /// Times the producer was recreated after a fatal error (also `parley_relay_rebuilds_total{client="producer"}`).
    public var producerRebuilds: Int
    /// Times the consumer was recreated after a fatal error or a stuck group join
    /// (also `parley_relay_rebuilds_total{client="consumer"}`).
    public var consumerRebuilds: Int
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
    let producerRebuilds = Atomic<Int>(0)
    let consumerRebuilds = Atomic<Int>(0)
    /// Rebuilds as swift-metrics counters (Prometheus in `parley serve`), by client.
    let rebuildCounters: [KafkaClientRole: Counter] = [
        .producer: Counter(label: "parley_relay_rebuilds_total", dimensions: [("client", "producer")]),
        .consumer: Counter(label: "parley_relay_rebuilds_total", dimensions: [("client", "consumer")]),
    ]

    /// Counts one rebuild of `role`.
    func rebuildStarted(_ role: KafkaClientRole) {
        switch role {
        case .producer: producerRebuilds.increment()
        case .consumer: consumerRebuilds.increment()
        }
        rebuildCounters[role]?.increment()
    }

    var snapshot: KafkaRelayMetrics {
        KafkaRelayMetrics(
            produced: produced.load(ordering: .relaxed), acknowledged: acknowledged.load(ordering: .relaxed),
            publishFailures: publishFailures.load(ordering: .relaxed), delivered: delivered.load(ordering: .relaxed),
            duplicatesDropped: duplicatesDropped.load(ordering: .relaxed),
            malformedRecords: malformedRecords.load(ordering: .relaxed), errors: errors.load(ordering: .relaxed),
            gapsRefetched: gapsRefetched.load(ordering: .relaxed), producerRebuilds: producerRebuilds.load(ordering: .relaxed),
            consumerRebuilds: consumerRebuilds.load(ordering: .relaxed))
    }
}

extension Atomic where Value == Int {
    /// Adds one, relaxed: counters need no ordering with other memory.
    func increment(by amount: Int = 1) { _ = wrappingAdd(amount, ordering: .relaxed) }
}
