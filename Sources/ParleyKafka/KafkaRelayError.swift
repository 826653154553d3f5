/// Why the Kafka relay could not start or stopped working. Descriptions name the fix where there is one.
public enum KafkaRelayError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The loaded librdkafka is older than 2.2 and cannot talk to Tansu.
    case librdkafkaTooOld(found: LibrdkafkaVersion)
    /// A configuration value was rejected (by Parley or by librdkafka).
    case invalidConfiguration(String)
    /// No broker answered at the bootstrap servers within the start-up timeout.
    case brokerUnreachable(bootstrapServers: String, reason: String)
    /// The topic could not be created or described.
    case topicUnavailable(topic: String, reason: String)
    /// The node's consumer group got no partitions within the start-up timeout.
    case groupJoinTimedOut(groupID: String, seconds: Double)
    /// `start` was called twice, or after `shutdown`.
    case alreadyStarted
    /// librdkafka raised a fatal error on the `client` (`producer` or `consumer`); the relay recreates it.
    case clientFailed(client: String, reason: String)

    /// A one-line explanation, including what to do about it.
    public var description: String {
        switch self {
        case .librdkafkaTooOld(let found):
            return "librdkafka \(found) found; Parley needs ≥ \(LibrdkafkaVersion.minimumSupported) to talk to Kafka "
                + "(Tansu rejects older clients' ApiVersion requests). Run .ci/setup, which links the confluent-kafka "
                + "wheel's librdkafka into .tools/lib, or put a librdkafka ≥ 2.2 first on LD_LIBRARY_PATH."
        case .invalidConfiguration(let reason):
            return "invalid Kafka configuration: \(reason)"
        case .brokerUnreachable(let servers, let reason):
            return "cannot reach Kafka at \(servers): \(reason). Is the broker running (conformance/peers/tansu.sh start)?"
        case .topicUnavailable(let topic, let reason):
            return "Kafka topic \(topic) is unavailable: \(reason)"
        case .groupJoinTimedOut(let group, let seconds):
            return "Kafka consumer group \(group) was assigned no partitions within \(seconds) s"
        case .alreadyStarted:
            return "the Kafka relay was already started"
        case .clientFailed(let client, let reason):
            return "the Kafka \(client) failed: \(reason)"
        }
    }
}
