/// Settings of a ``KafkaRelay``. The defaults favour latency (chat) over batching.
public struct KafkaRelayConfiguration: Sendable {
    /// `host:port[,host:port…]` of the Kafka (or Tansu) brokers.
    public var bootstrapServers: String
    /// The topic every chat event goes through (the original app's `chat-message`).
    public var topic: String = "chat-message"
    /// Partitions used when the relay creates the topic (an existing topic is left as it is).
    public var partitions: Int = 3
    /// Replication factor used when the relay creates the topic.
    public var replicationFactor: Int = 1
    /// This chat node's id. Each node consumes in its own group `parley-<nodeID>`, so every node sees every event
    /// and a restarted node resumes from its own committed position.
    public var nodeID: String
    /// How long `start` may take to reach the broker, create the topic and join the group.
    public var startupTimeout: Duration = .seconds(10)
    /// How long a publish may wait for the broker's acknowledgement before it fails (`message.timeout.ms`).
    public var messageTimeout: Duration = .seconds(30)
    /// Consumer-group session timeout (`session.timeout.ms`); a rebalance takes about half of it.
    public var sessionTimeout: Duration = .seconds(6)
    /// Longest time the broker holds a fetch waiting for data (`fetch.wait.max.ms`): bounds delivery latency.
    public var fetchWaitMax: Duration = .milliseconds(5)
    /// Producer batching delay (`linger.ms`).
    public var linger: Duration = .milliseconds(1)
    /// How often stored consumer offsets are committed (`auto.commit.interval.ms`).
    public var autoCommitInterval: Duration = .milliseconds(500)
    /// How many recent message ids the consumer remembers to drop redelivered duplicates.
    public var duplicateWindow: Int = 65_536
    /// How long `shutdown` waits for unacknowledged publishes before failing them.
    public var shutdownDrainTimeout: Duration = .seconds(5)
    /// Delay before recreating a producer or consumer that hit a fatal error; doubles with each consecutive
    /// attempt (reset once the new client worked), up to ``rebuildBackoffMax``.
    public var rebuildBackoff: Duration = .milliseconds(250)
    /// Longest delay between attempts to recreate a failed client.
    public var rebuildBackoffMax: Duration = .seconds(30)
    /// How long the consumer may hold no partitions while the broker answers before the relay counts it as stuck
    /// and recreates it. Generous: after an outage longer than ``sessionTimeout`` Tansu takes about two session
    /// timeouts to give the group its partitions back, and a consumer recreated mid-join only starts over.
    public var consumerStuckTimeout: Duration = .seconds(60)
    /// How often the relay asks the broker for metadata to tell whether it answers (``KafkaRelay/state``).
    public var healthCheckInterval: Duration = .seconds(2)
    /// How long a health-check metadata request may take before the relay counts the broker as not answering.
    public var healthCheckTimeout: Duration = .seconds(3)
    /// Extra librdkafka properties, applied to producer and consumer after Parley's own (so they win).
    public var extraProperties: [String: String] = [:]

    /// Creates a configuration for `nodeID` talking to `bootstrapServers`; other settings keep their defaults.
    public init(bootstrapServers: String, nodeID: String) {
        self.bootstrapServers = bootstrapServers
        self.nodeID = nodeID
    }

    /// The consumer group of this node.
    public var groupID: String { "parley-\(nodeID)" }

    /// Checks the values librdkafka would reject with a less helpful message.
    func validate() throws(KafkaRelayError) {
        if bootstrapServers.isEmpty { throw .invalidConfiguration("bootstrap servers must not be empty") }
        if topic.isEmpty { throw .invalidConfiguration("topic must not be empty") }
        if nodeID.isEmpty || nodeID.contains(where: { $0.isWhitespace }) {
            throw .invalidConfiguration("node id must be non-empty and contain no spaces (got \"\(nodeID)\")")
        }
        if partitions < 1 { throw .invalidConfiguration("partitions must be ≥ 1 (got \(partitions))") }
        if replicationFactor < 1 { throw .invalidConfiguration("replication factor must be ≥ 1") }
        if duplicateWindow < 1 { throw .invalidConfiguration("duplicate window must be ≥ 1") }
        if messageTimeout.milliseconds < 1 { throw .invalidConfiguration("message timeout must be ≥ 1 ms") }
        if sessionTimeout.milliseconds < 1 { throw .invalidConfiguration("session timeout must be ≥ 1 ms") }
        if rebuildBackoff.milliseconds < 1 || rebuildBackoffMax < rebuildBackoff {
            throw .invalidConfiguration("rebuild backoff must be ≥ 1 ms and ≤ its maximum")
        }
        if consumerStuckTimeout.milliseconds < 1 { throw .invalidConfiguration("consumer stuck timeout must be ≥ 1 ms") }
        if healthCheckInterval.milliseconds < 10 || healthCheckTimeout.milliseconds < 10 {
            throw .invalidConfiguration("health-check interval and timeout must be ≥ 10 ms")
        }
    }

    /// Properties shared by the producer and the consumer.
    private var commonProperties: [String: String] {
        [
            "bootstrap.servers": bootstrapServers,
            "client.id": "parley-\(nodeID)",
            // Fail fast when no broker answers, instead of librdkafka's endless quiet retries.
            "socket.connection.setup.timeout.ms": String(max(1000, startupTimeout.milliseconds)),
            "reconnect.backoff.ms": "50",
            "reconnect.backoff.max.ms": "1000",
        ]
    }

    /// The start-up admin handle's librdkafka properties.
    var adminProperties: [String: String] {
        var properties = commonProperties
        properties.merge(extraProperties.filter { !$0.key.hasPrefix("group.") }) { _, extra in extra }
        return properties
    }

    /// The producer's librdkafka properties, as passed to librdkafka (extra properties included).
    public var producerProperties: [String: String] {
        var properties = commonProperties
        // Not idempotent: after in-flight messages time out, librdkafka bumps an idempotent producer's epoch
        // itself; Tansu then answers every produce with PRODUCER_FENCED and the producer never delivers again
        // (docs/kafka.md, "Why the producer was fenced"). Without idempotence a retried batch may be stored
        // twice: the consumer drops it by message id. One request in flight keeps each room's order on retries.
        properties["enable.idempotence"] = "false"
        properties["max.in.flight.requests.per.connection"] = "1"
        properties["acks"] = "all"
        properties["linger.ms"] = String(linger.milliseconds)
        properties["message.timeout.ms"] = String(messageTimeout.milliseconds)
        // librdkafka requires request.timeout.ms ≤ message.timeout.ms for the idempotent producer to time out cleanly.
        properties["request.timeout.ms"] = String(min(30_000, messageTimeout.milliseconds))
        properties.merge(extraProperties) { _, extra in extra }
        return properties
    }

    /// The consumer's librdkafka properties, as passed to librdkafka (extra properties included).
    public var consumerProperties: [String: String] {
        var properties = commonProperties
        properties["group.id"] = groupID
        properties["session.timeout.ms"] = String(sessionTimeout.milliseconds)
        properties["heartbeat.interval.ms"] = String(max(100, sessionTimeout.milliseconds / 3))
        properties["fetch.wait.max.ms"] = String(fetchWaitMax.milliseconds)
        properties["fetch.min.bytes"] = "1"
        // Offsets are stored only after the sink got the event, then committed in the background (and on close).
        properties["enable.auto.commit"] = "true"
        properties["enable.auto.offset.store"] = "false"
        properties["auto.commit.interval.ms"] = String(autoCommitInterval.milliseconds)
        // Only used if resolving a partition's start position failed: replaying beats losing (duplicates are dropped).
        properties["auto.offset.reset"] = "earliest"
        properties["enable.partition.eof"] = "false"
        properties.merge(extraProperties) { _, extra in extra }
        return properties
    }
}

extension Duration {
    /// Whole milliseconds, rounded down (librdkafka takes integer milliseconds).
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
