/// Things that happen inside a ``KafkaRelay`` that operators and tests may want to observe.
public enum KafkaRelayEvent: Sendable, Equatable {
    /// The node's consumer group assigned these partitions; the relay delivers from them from now on.
    case partitionsAssigned([Int32])
    /// The partitions were taken away (rebalance or shutdown).
    case partitionsRevoked([Int32])
    /// librdkafka reported an error; after a `fatal` one the client is recreated.
    case error(String, fatal: Bool)
    /// The `client` (`producer` or `consumer`) became unusable for `reason`; a new one is created after `delay`.
    case rebuilding(client: String, reason: String, delay: Duration)
    /// A new `client` replaced the failed one (the consumer still has to join its group).
    case rebuilt(client: String)
}
