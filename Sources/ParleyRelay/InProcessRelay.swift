import Synchronization

/// The embedded default relay: one node, events delivered straight to the local sink.
public final class InProcessRelay: ChatRelay {
    private let sink = Mutex<(any ChatEventSink)?>(nil)

    /// Creates a relay; it accepts events once started.
    public init() {}

    /// Remembers `sink`; events published from now on are delivered to it.
    public func start(deliveringTo sink: any ChatEventSink) async throws {
        self.sink.withLock { $0 = sink }
    }

    /// Delivers `event` to the sink synchronously, then completes.
    public func publish(_ event: ChatEvent, completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        guard let sink = sink.withLock({ $0 }) else {
            completion(.failure(ChatRelayError.notRunning))
            return
        }
        sink.deliver(event)
        completion(.success(()))
    }

    /// Forgets the sink; later publishes fail with ``ChatRelayError/notRunning``.
    public func shutdown() async {
        sink.withLock { $0 = nil }
    }
}
