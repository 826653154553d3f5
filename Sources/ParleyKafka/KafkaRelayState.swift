/// Where a ``KafkaRelay`` is in its life, as ``KafkaRelay/state`` reports it (synchronously, at any time).
public enum KafkaRelayState: Sendable, Equatable, CustomStringConvertible {
    /// Created; ``KafkaRelay/start(deliveringTo:)`` not called yet.
    case created
    /// Reaching the broker, creating the topic, joining the group.
    case starting
    /// Producing and consuming: ready.
    case running
    /// Running, but not relaying now: the broker does not answer, or the consumer has no partitions (rejoining
    /// its group). Publishes are still accepted and wait for the broker (up to the message timeout).
    case degraded(reason: String)
    /// A producer or consumer hit a fatal error and is being recreated (with backoff). Publishes fail fast with
    /// ``ChatRelayError/rebuilding`` while the producer is rebuilt.
    case rebuilding(reason: String)
    /// Shut down (or start failed).
    case stopped

    /// The name used in metrics labels: `created`, `starting`, `running`, `degraded`, `rebuilding`, `stopped`.
    public var name: String {
        switch self {
        case .created: "created"
        case .starting: "starting"
        case .running: "running"
        case .degraded: "degraded"
        case .rebuilding: "rebuilding"
        case .stopped: "stopped"
        }
    }

    /// Every state name, for one-hot metrics.
    public static let names = ["created", "starting", "running", "degraded", "rebuilding", "stopped"]

    /// The name, with the reason when there is one.
    public var description: String {
        switch self {
        case .degraded(let reason), .rebuilding(let reason): "\(name): \(reason)"
        default: name
        }
    }
}
