import ParleyCodec

/// How the server expects MESSAGE frames of a subscription to be acknowledged.
public enum StompAckMode: String, Sendable, Hashable, CaseIterable {
    /// No acknowledgement; the server considers a message delivered once sent.
    case auto
    /// Cumulative: an ACK acknowledges this and every earlier message of the subscription.
    case client
    /// Each message is acknowledged on its own.
    case clientIndividual = "client-individual"
}

/// The MESSAGE frames of one subscription, in arrival order. Ends when unsubscribed or the session is
/// disconnected cleanly; throws ``StompClientError`` when the session ends abnormally. Single consumer.
public struct StompSubscription: AsyncSequence, Sendable {
    /// A MESSAGE frame.
    public typealias Element = StompFrame

    /// The `id` header of the SUBSCRIBE frame (MESSAGE frames carry it as `subscription`).
    public let id: String
    /// The subscribed destination.
    public let destination: String
    /// The ack mode requested.
    public let ackMode: StompAckMode

    let queue: BoundedAsyncQueue<StompFrame>
    /// Called with each MESSAGE instead of queueing it (`subscribe(…, onMessage:)`).
    let handler: (@Sendable (StompFrame) -> Void)?

    init(id: String, destination: String, ackMode: StompAckMode, queue: BoundedAsyncQueue<StompFrame>, handler: (@Sendable (StompFrame) -> Void)? = nil) {
        self.id = id
        self.destination = destination
        self.ackMode = ackMode
        self.queue = queue
        self.handler = handler
    }

    /// Creates the iterator.
    public func makeAsyncIterator() -> Iterator {
        Iterator(queue: queue)
    }

    /// Iterator over MESSAGE frames.
    public struct Iterator: AsyncIteratorProtocol {
        let queue: BoundedAsyncQueue<StompFrame>

        /// The next MESSAGE frame, or nil when the subscription ended.
        public mutating func next() async throws -> StompFrame? {
            try await queue.next()
        }
    }
}
