/// Things that happen inside a ``KafkaRelay`` that operators and tests may want to observe.
public enum KafkaRelayEvent: Sendable, Equatable {
    /// The node's consumer group assigned these partitions; the relay delivers from them from now on.
    case partitionsAssigned([Int32])
    /// The partitions were taken away (rebalance or shutdown).
    case partitionsRevoked([Int32])
    /// librdkafka reported an error; `fatal` errors stop the producer.
    case error(String, fatal: Bool)
}
