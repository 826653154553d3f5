import NIOCore
import ParleyBroker
import ParleyRelay
import Synchronization

/// The chat application behind `/app/chat.sendMessage` (the original app's `@MessageMapping("/chat.sendMessage")`):
/// decodes and checks a ``ParleyRelay/ChatMessage``, publishes it as a ``ParleyRelay/ChatEvent`` through the relay
/// (the sender's RECEIPT waits for the relay's acknowledgement), and fans every relayed event out to local
/// sessions: a room's event to `/topic/rooms.{roomId}`, a direct message to the receiver's and the sender's other
/// sessions on `/user/queue/messages`.
///
/// Wire it as the broker's application and the relay's sink:
/// ```swift
/// let chat = ChatApplication(relay: relay)
/// let broker = StompBroker(authenticator: authenticator, applications: [chat])
/// try await relay.start(deliveringTo: chat.sink(for: broker))
/// ```
public final class ChatApplication: StompApplication {
    /// The relay events are published through.
    public let relay: any ChatRelay
    /// Only `/app/chat.sendMessage`.
    public let destinations = [ChatDestinations.sendMessage]
    /// Rooms: only this application publishes there, after checking the sender.
    public let publishedTopicPrefixes = [ChatDestinations.roomPrefix]
    private let origins = DirectMessageOrigins()
    private let retries: RetriedSends

    /// The SEND header naming a client's attempt: a retry with the same value (and sender) is delivered once.
    public static let idempotencyKeyHeader = "idempotency-key"
    /// Longest accepted idempotency key, in UTF-8 bytes.
    public static let maxIdempotencyKeyLength = 128

    /// Creates the application over `relay` (start the relay with ``sink(for:)``); each node remembers the last
    /// `idempotencyWindow` idempotency keys.
    public init(relay: any ChatRelay, idempotencyWindow: Int = 100_000) {
        self.relay = relay
        self.retries = RetriedSends(capacity: idempotencyWindow)
    }

    /// The sink the relay delivers every node's events to: fans them out through `broker`.
    public func sink(for broker: StompBroker) -> any ChatEventSink {
        ChatFanOut(broker: broker, origins: origins, retries: retries)
    }

    /// Checks and publishes one chat message; the outcome completes when the relay has accepted it.
    public func handle(_ request: ApplicationRequest) -> ApplicationOutcome {
        let message: ChatMessage
        do {
            message = try request.body.withUnsafeReadableBytes { bytes throws(ChatMessageDecodingError) in
                try ChatMessage.decode(json: bytes)
            }
        } catch {
            return .rejected(ApplicationError("invalid chat message: \(error.message)", isClientError: true))
        }
        if let claimed = message.senderId, claimed != request.principal.id {
            return .rejected(ApplicationError("senderId does not match the authenticated user", isClientError: true))
        }
        var event = ChatEvent(accepting: message, from: request.principal.id)
        if let key = request.headers[Self.idempotencyKeyHeader] {
            guard !key.isEmpty, key.utf8.count <= Self.maxIdempotencyKeyLength, !key.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F })
            else {
                return .rejected(
                    ApplicationError(
                        "invalid \(Self.idempotencyKeyHeader): 1 to \(Self.maxIdempotencyKeyLength) bytes without control characters",
                        isClientError: true))
            }
            event.idempotencyKey = key
        }
        if event.receiverId != nil {
            // Remembered so that delivery skips the sending session but reaches the sender's other sessions.
            origins.remember(event.messageId, from: request.session)
        }
        let promise = request.eventLoop.makePromise(of: Void.self)
        relay.publish(event) { [origins, messageId = event.messageId] result in
            switch result {
            case .success:
                promise.succeed(())
            case .failure(let error):
                origins.forget(messageId)
                let reason = (error as? ChatRelayError)?.description ?? "the relay did not accept it"
                promise.fail(ApplicationError("message could not be relayed: \(reason)", isClientError: false))
            }
        }
        return .pending(promise.futureResult)
    }
}

/// Event id → the session that sent a direct message, until the relay delivers it back on this node.
final class DirectMessageOrigins: Sendable {
    private let sessions = Mutex<[String: BrokerSessionID]>([:])

    func remember(_ messageId: String, from session: BrokerSessionID) {
        sessions.withLock { sessions in
            // A bound, not a leak: entries whose events never come back (another node's relay lost them) go.
            if sessions.count >= 100_000 { sessions.removeAll() }
            sessions[messageId] = session
        }
    }

    func forget(_ messageId: String) {
        _ = sessions.withLock { $0.removeValue(forKey: messageId) }
    }

    /// The origin of `messageId`, forgotten as it is read (each event comes back once per node).
    func take(_ messageId: String) -> BrokerSessionID? {
        sessions.withLock { $0.removeValue(forKey: messageId) }
    }

    /// ``take(_:)`` for a batch, under one lock.
    func take(_ messageIds: [String]) -> [BrokerSessionID?] {
        sessions.withLock { sessions in messageIds.map { sessions.removeValue(forKey: $0) } }
    }
}

/// The idempotency keys seen lately, per sender. Every node sees every event of a room in the same (partition)
/// order, so every node drops the same repeat, whichever node the retry came through.
final class RetriedSends: Sendable {
    private let seen: Mutex<RecentMessageIDs>

    init(capacity: Int) { seen = Mutex(RecentMessageIDs(capacity: capacity)) }

    /// `false` for a repeat of an event already delivered (same sender, same key); events without a key pass.
    func isFirst(_ event: ChatEvent) -> Bool {
        guard let key = event.idempotencyKey else { return true }
        let id = event.senderId + "\u{0}" + key
        return seen.withLock { $0.insert(id) }
    }
}

/// Delivers relayed chat events to this node's sessions.
struct ChatFanOut: ChatEventSink {
    let broker: StompBroker
    let origins: DirectMessageOrigins
    let retries: RetriedSends

    func deliver(_ event: ChatEvent) {
        guard retries.isFirst(event) else { return }
        broker.statistics.eventsDelivered.add(1)
        let origin = event.receiverId == nil ? nil : origins.take(event.messageId)
        broker.deliver(Self.message(of: event), to: Self.targets(of: event, origin: origin))
    }

    /// One registry lock for the whole batch (the Kafka consumer hands over whatever it fetched).
    func deliver(contentsOf events: [ChatEvent]) {
        let events = events.filter(retries.isFirst)
        broker.statistics.eventsDelivered.add(events.count)
        var directOrigins = origins.take(events.compactMap { $0.receiverId == nil ? nil : $0.messageId })[...]
        var batch: [(BrokerMessage, DeliveryTarget)] = []
        batch.reserveCapacity(events.count * 2)
        for event in events {
            let origin = event.receiverId == nil ? nil : directOrigins.popFirst() ?? nil
            let message = Self.message(of: event)
            for target in Self.targets(of: event, origin: origin) { batch.append((message, target)) }
        }
        broker.deliver(contentsOf: batch)
    }

    private static func message(of event: ChatEvent) -> BrokerMessage {
        BrokerMessage(body: ByteBuffer(bytes: event.jsonBytes), contentType: "application/json")
    }

    /// A room's subscribers, or a direct message's receiver plus the sender's other sessions (not `origin`).
    private static func targets(of event: ChatEvent, origin: BrokerSessionID?) -> [DeliveryTarget] {
        guard let receiver = event.receiverId else { return [.topic(event.roomTopic)] }
        let toReceiver = DeliveryTarget.user(receiver, destination: ChatDestinations.directMessages)
        guard event.senderId != receiver else { return [toReceiver] }
        return [toReceiver, .user(event.senderId, destination: ChatDestinations.directMessages, excluding: origin)]
    }
}
