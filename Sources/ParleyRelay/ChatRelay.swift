/// Where a chat node hands events that must reach every node's local sessions.
///
/// The broker calls ``publish(_:completion:)`` from its event loop, so implementations must return at once
/// and report the outcome through `completion`, on any thread. A relay delivers every event, from any
/// node, to the sink given to ``start(deliveringTo:)``; the sink is non-blocking and thread-safe.
public protocol ChatRelay: AnyObject, Sendable {
    /// Starts delivering relayed events to `sink`. Throws when the relay cannot start (e.g. broker unreachable).
    func start(deliveringTo sink: any ChatEventSink) async throws
    /// Publishes `event`; `completion` runs once the relay accepted it durably (Kafka: after the broker
    /// acknowledged it), or with the error that prevented it. Never dropped silently.
    func publish(_ event: ChatEvent, completion: @escaping @Sendable (Result<Void, any Error>) -> Void)
    /// Stops delivering and releases resources; pending publishes complete (with an error if not acked).
    func shutdown() async
    /// Whether the relay can relay events now (read synchronously by readiness probes). Defaults to
    /// ``RelayHealth/ready``.
    var health: RelayHealth { get }
}

extension ChatRelay {
    /// Publishes `event` and waits until the relay accepted it.
    public func publish(_ event: ChatEvent) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            publish(event) { continuation.resume(with: $0) }
        }
    }
}

/// Receives relayed events on a chat node and delivers them to local sessions. Must not block.
public protocol ChatEventSink: Sendable {
    /// Delivers `event` to every local session that should see it.
    func deliver(_ event: ChatEvent)

    /// Delivers `events`, in order, as ``deliver(_:)`` would one by one. A relay that receives events in batches
    /// (the Kafka consumer) calls this, so a sink can hand them on in fewer steps.
    func deliver(contentsOf events: [ChatEvent])
}

extension ChatEventSink {
    /// One ``deliver(_:)`` per event.
    public func deliver(contentsOf events: [ChatEvent]) {
        for event in events { deliver(event) }
    }
}

/// Errors a relay reports to publishers.
public struct ChatRelayError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A short, client-safe description.
    public var description: String
    /// Creates an error with a client-safe description.
    public init(_ description: String) { self.description = description }

    /// The relay is not running (not started yet, or shut down).
    public static let notRunning = ChatRelayError("relay is not running")
}
