/// Whether a relay can relay events now, as a readiness probe (`/ready`) reports it.
public enum RelayHealth: Sendable, Equatable, CustomStringConvertible {
    /// Publishes are accepted and relayed events are delivered.
    case ready
    /// The relay cannot relay now (broker not answering, client rebuilding, …); `reason` says why, client-safe.
    case notReady(reason: String)

    /// Whether the relay is ready.
    public var isReady: Bool { self == .ready }

    /// `ready`, or the reason it is not.
    public var description: String {
        switch self {
        case .ready: "ready"
        case .notReady(let reason): reason
        }
    }
}

extension ChatRelay {
    /// Relays without an outside dependency (the in-process relay) are always ready.
    public var health: RelayHealth { .ready }
}
