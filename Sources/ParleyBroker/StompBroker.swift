import Metrics
import NIOCore
import ParleyCodec
import ParleyRelay
import Synchronization

/// The shared state of one chat node: who is subscribed to what, and the fan-out of chat events.
///
/// Sessions (``StompSessionHandler``) live on their channels' event loops; the broker only keeps immutable
/// ``Subscription`` records behind one short-held lock. Delivery snapshots the subscriber list, releases the
/// lock, encodes the event's JSON once and hops to each target event loop once per event, where each
/// session writes its MESSAGE frame. No lock is held while writing.
public final class StompBroker: ChatEventSink, Sendable {
    /// Limits and timings.
    public let configuration: BrokerConfiguration
    /// Where `/app/chat.sendMessage` events go; it calls back ``deliver(_:)`` on every node.
    public let relay: any ChatRelay
    /// Verifies CONNECT tokens.
    public let authenticator: any StompAuthenticator
    /// Counters, also exported through swift-metrics.
    public let statistics = BrokerStatistics()

    private let registry = Mutex(Registry())
    private let flushQueues = Mutex<[ObjectIdentifier: LoopFlushQueue]>([:])
    private let sessionCounter = Atomic<Int>(0)
    private let sessionIdPrefix: String

    /// Creates a broker. Start the relay with `relay.start(deliveringTo: broker)` before accepting sessions.
    public init(
        configuration: BrokerConfiguration = BrokerConfiguration(), relay: any ChatRelay,
        authenticator: any StompAuthenticator
    ) {
        self.configuration = configuration
        self.relay = relay
        self.authenticator = authenticator
        // A random prefix keeps session ids unique across nodes and restarts.
        self.sessionIdPrefix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }

    /// A new session handler for one connection; `maxVersion` caps negotiation (e.g. from a WebSocket
    /// subprotocol such as `v11.stomp`); `framing` says how its outbound frames go on the wire.
    public func makeSessionHandler(maxVersion: StompVersion = .v1_2, framing: OutboundFraming = .none) -> StompSessionHandler {
        StompSessionHandler(broker: self, maxVersion: maxVersion, framing: framing)
    }

    /// The flush list shared by the sessions of `eventLoop`.
    func flushQueue(for eventLoop: any EventLoop) -> LoopFlushQueue {
        flushQueues.withLock { queues in
            if let queue = queues[ObjectIdentifier(eventLoop)] { return queue }
            let queue = LoopFlushQueue(eventLoop: eventLoop)
            queues[ObjectIdentifier(eventLoop)] = queue
            return queue
        }
    }

    /// Sessions currently open (connected or not yet authenticated).
    public var sessionCount: Int { registry.withLock { $0.sessions.count } }

    /// Sends every open session an ERROR with `reason` and closes it; used on shutdown.
    public func closeAllSessions(reason: String = "server is shutting down") {
        let sessions = registry.withLock { Array($0.sessions.values) }
        for session in sessions {
            session.eventLoop.execute { session.fail(reason, countAsProtocolError: false) }
        }
    }

    // MARK: - Chat events

    /// Fans `event` out to the local sessions that should see it (the relay calls this on every node).
    public func deliver(_ event: ChatEvent) {
        statistics.eventsDelivered.add(1)
        let delivery = Self.delivery(of: event)
        let targets = registry.withLock { Self.targets(of: event, in: &$0) }
        dispatch(delivery, to: targets, redelivered: false)
    }

    /// Delivers a batch (from the Kafka consumer's thread): one registry lock for all, then one task per event
    /// loop with everything its sessions get, in order, instead of a task (and often a wake-up) per event.
    public func deliver(contentsOf events: [ChatEvent]) {
        statistics.eventsDelivered.add(events.count)
        let targets = registry.withLock { registry in events.map { Self.targets(of: $0, in: &registry) } }
        var items: [(Delivery, Subscription)] = []
        for (event, eventTargets) in zip(events, targets) where !eventTargets.isEmpty {
            let delivery = Self.delivery(of: event)
            for target in eventTargets { items.append((delivery, target)) }
        }
        dispatch(items, redelivered: false)
    }

    private static func delivery(of event: ChatEvent) -> Delivery {
        Delivery(body: ByteBuffer(bytes: event.jsonBytes), contentType: "application/json")
    }

    /// The subscriptions `event` goes to: a room's subscribers, or a direct message's receiver plus the sender's
    /// other sessions (not the one it was sent from).
    private static func targets(of event: ChatEvent, in registry: inout Registry) -> [Subscription] {
        guard let receiver = event.receiverId else {
            return registry.topics[event.roomTopic] ?? []
        }
        let origin = registry.directMessageOrigins.removeValue(forKey: event.messageId)
        var targets = registry.userQueues[UserQueueKey(principal: receiver, destination: Destination.chatQueue)] ?? []
        if event.senderId != receiver,
            let senderSubscriptions = registry.userQueues[
                UserQueueKey(principal: event.senderId, destination: Destination.chatQueue)]
        {
            for subscription in senderSubscriptions where ObjectIdentifier(subscription.session) != origin {
                targets.append(subscription)
            }
        }
        return targets
    }

    /// Publishes a chat event accepted from `session` through the relay; `completion` runs on any thread.
    func publish(
        _ event: ChatEvent, from session: StompSessionHandler,
        completion: @escaping @Sendable (Result<Void, any Error>) -> Void
    ) {
        if event.receiverId != nil {
            // Remembered so that delivery skips the sending session but reaches the sender's other sessions.
            registry.withLock { registry in
                if registry.directMessageOrigins.count >= 100_000 { registry.directMessageOrigins.removeAll() }
                registry.directMessageOrigins[event.messageId] = ObjectIdentifier(session)
            }
        }
        let messageId = event.messageId
        relay.publish(event) { [self] result in
            if case .failure = result {
                _ = registry.withLock { $0.directMessageOrigins.removeValue(forKey: messageId) }
            }
            completion(result)
        }
    }

    /// Delivers a client SEND to `/topic/...` to that topic's local subscribers.
    func publishToTopic(_ destination: String, body: ByteBuffer, contentType: String?) {
        let targets = registry.withLock { $0.topics[destination] ?? [] }
        dispatch(Delivery(body: body, contentType: contentType), to: targets, redelivered: false)
    }

    // MARK: - Subscriptions and sessions

    func nextSessionId() -> String {
        let number = sessionCounter.wrappingAdd(1, ordering: .relaxed).newValue
        return "\(sessionIdPrefix)-\(number)"
    }

    func register(session: StompSessionHandler) {
        registry.withLock { $0.sessions[ObjectIdentifier(session)] = session }
    }

    func add(_ subscription: Subscription) {
        registry.withLock { registry in
            if let owner = subscription.userQueueOwner {
                registry.userQueues[UserQueueKey(principal: owner, destination: subscription.destination), default: []]
                    .append(subscription)
            } else {
                registry.topics[subscription.destination, default: []].append(subscription)
            }
        }
    }

    func remove(_ subscription: Subscription) {
        registry.withLock { $0.remove(subscription) }
    }

    /// Forgets `session` and its subscriptions; later deliveries can no longer pick it.
    func unregister(session: StompSessionHandler, subscriptions: some Sequence<Subscription>) {
        registry.withLock { registry in
            registry.sessions[ObjectIdentifier(session)] = nil
            for subscription in subscriptions { registry.remove(subscription) }
        }
    }

    /// Hands user-queue messages that `session` will not acknowledge to another session of the same user
    /// subscribed to the same destination, marked `redelivered`. Messages nobody else can take are dropped
    /// and counted.
    func redeliver(_ messages: [PendingMessage], excluding session: StompSessionHandler) {
        guard !messages.isEmpty else { return }
        var assignments: [(Subscription, Delivery)] = []
        let excluded = ObjectIdentifier(session)
        registry.withLock { registry in
            for message in messages {
                guard let owner = message.subscription.userQueueOwner else { continue }
                let key = UserQueueKey(principal: owner, destination: message.subscription.destination)
                if let target = registry.userQueues[key]?.first(where: { ObjectIdentifier($0.session) != excluded }) {
                    assignments.append((target, message.delivery))
                }
            }
        }
        statistics.redelivered.add(assignments.count)
        statistics.droppedUnacked.add(messages.count - assignments.count)
        for (target, delivery) in assignments {
            dispatch(delivery, to: [target], redelivered: true)
        }
    }

    /// Runs each target's delivery on its event loop: inline when already there, else one hop per loop.
    private func dispatch(_ delivery: Delivery, to targets: [Subscription], redelivered: Bool) {
        if targets.count == 1 {
            let target = targets[0]
            if target.eventLoop.inEventLoop {
                target.session.receive(delivery, on: target, redelivered: redelivered)
            } else {
                target.eventLoop.execute { target.session.receive(delivery, on: target, redelivered: redelivered) }
            }
        } else if !targets.isEmpty {
            dispatch(targets.map { (delivery, $0) }, redelivered: redelivered)
        }
    }

    /// Hands each event loop its share of `items` in one step, in order: inline when already on it, else one task.
    private func dispatch(_ items: [(Delivery, Subscription)], redelivered: Bool) {
        var groups: [(loop: any EventLoop, items: [(Delivery, Subscription)])] = []
        for item in items {
            if let index = groups.firstIndex(where: { $0.loop === item.1.eventLoop }) {
                groups[index].items.append(item)
            } else {
                groups.append((item.1.eventLoop, [item]))
            }
        }
        for group in groups {
            let share = group.items
            if group.loop.inEventLoop {
                for (delivery, target) in share { target.session.receive(delivery, on: target, redelivered: redelivered) }
            } else {
                group.loop.execute {
                    for (delivery, target) in share { target.session.receive(delivery, on: target, redelivered: redelivered) }
                }
            }
        }
    }
}

/// Broker counters, readable in tests and exported as swift-metrics counters.
public final class BrokerStatistics: Sendable {
    /// Sessions disconnected because their outbound buffer exceeded the limit.
    public let slowConsumerDisconnects = CountingMetric(label: "parley_chat_slow_consumer_disconnects_total")
    /// Sessions closed with an ERROR for a protocol violation.
    public let protocolErrors = CountingMetric(label: "parley_chat_protocol_errors_total")
    /// CONNECTs refused because the token did not verify.
    public let authenticationFailures = CountingMetric(label: "parley_chat_authentication_failures_total")
    /// Sessions that completed CONNECT.
    public let sessionsConnected = CountingMetric(label: "parley_chat_sessions_connected_total")
    /// Chat events fanned out by this node.
    public let eventsDelivered = CountingMetric(label: "parley_chat_events_delivered_total")
    /// Unacknowledged or NACKed user-queue messages handed to another session.
    public let redelivered = CountingMetric(label: "parley_chat_redelivered_total")
    /// Unacknowledged or NACKed messages no other session could take.
    public let droppedUnacked = CountingMetric(label: "parley_chat_dropped_unacked_total")

    init() {}
}

/// A swift-metrics counter that also keeps its own total, so tests and benchmarks can read it.
public final class CountingMetric: Sendable {
    private let counter: Counter
    private let total = Atomic<Int>(0)

    init(label: String) { counter = Counter(label: label) }

    /// The total so far.
    public var value: Int { total.load(ordering: .relaxed) }

    func add(_ amount: Int) {
        guard amount > 0 else { return }
        total.wrappingAdd(amount, ordering: .relaxed)
        counter.increment(by: amount)
    }
}

/// A message body shared by every subscriber it goes to, with its header tail encoded once.
struct Delivery: Sendable {
    /// The body bytes.
    var body: ByteBuffer
    /// `content-type` (when known), `content-length` and the blank line ending the headers.
    var headerTail: ByteBuffer

    init(body: ByteBuffer, contentType: String?) {
        self.body = body
        var tail = ByteBuffer()
        tail.reserveCapacity(64)
        if let contentType {
            tail.writeStaticString("content-type:")
            tail.writeString(contentType)
            tail.writeStaticString("\n")
        }
        tail.writeStaticString("content-length:")
        tail.writeString(String(body.readableBytes))
        tail.writeStaticString("\n\n")
        self.headerTail = tail
    }
}

/// A delivered, not yet acknowledged message.
struct PendingMessage {
    var subscription: Subscription
    var delivery: Delivery
    var sequence: Int
}

/// How a subscription's messages are acknowledged.
enum AckMode: Sendable {
    case auto, client, clientIndividual

    init?(header: String?) {
        switch header {
        case nil, "auto": self = .auto
        case "client": self = .client
        case "client-individual": self = .clientIndividual
        default: return nil
        }
    }
}

/// One SUBSCRIBE of one session; immutable, so the registry can hand it to any thread.
final class Subscription: Sendable {
    let id: String
    let destination: String
    /// The principal whose `/user/queue/...` this is; `nil` for topics.
    let userQueueOwner: String?
    let ackMode: AckMode
    let session: StompSessionHandler
    let eventLoop: any EventLoop
    /// `MESSAGE\ndestination:…\nsubscription:…\n`, escaped for the session's version.
    let messagePrefix: ByteBuffer
    /// Cleared by UNSUBSCRIBE (on the session's loop, where deliveries check it): a delivery already on its way
    /// to a subscription that ended is dropped, and one for a re-used id does not reach the new subscription.
    let isActive = Atomic<Bool>(true)

    init(
        id: String, destination: String, userQueueOwner: String?, ackMode: AckMode, session: StompSessionHandler,
        eventLoop: any EventLoop, version: StompVersion
    ) {
        self.id = id
        self.destination = destination
        self.userQueueOwner = userQueueOwner
        self.ackMode = ackMode
        self.session = session
        self.eventLoop = eventLoop
        var prefix = ByteBuffer()
        prefix.writeStaticString("MESSAGE\ndestination:")
        prefix.writeString(HeaderEscaping.escape(destination, version: version))
        prefix.writeStaticString("\nsubscription:")
        prefix.writeString(HeaderEscaping.escape(id, version: version))
        prefix.writeStaticString("\n")
        self.messagePrefix = prefix
    }
}

private struct UserQueueKey: Hashable {
    var principal: String
    var destination: String
}

private struct Registry {
    var topics: [String: [Subscription]] = [:]
    var userQueues: [UserQueueKey: [Subscription]] = [:]
    var sessions: [ObjectIdentifier: StompSessionHandler] = [:]
    /// Event id → session that sent the direct message, until the relay delivers it back.
    var directMessageOrigins: [String: ObjectIdentifier] = [:]

    mutating func remove(_ subscription: Subscription) {
        if let owner = subscription.userQueueOwner {
            let key = UserQueueKey(principal: owner, destination: subscription.destination)
            userQueues[key]?.removeAll { $0 === subscription }
            if userQueues[key]?.isEmpty == true { userQueues[key] = nil }
        } else {
            topics[subscription.destination]?.removeAll { $0 === subscription }
            if topics[subscription.destination]?.isEmpty == true { topics[subscription.destination] = nil }
        }
    }
}

/// The sessions of one event loop that wrote outside a channel read and wait for their flush: one task per
/// loop and tick flushes them all (a 1 → 1,000 room used to queue 1,000 tasks per message). Loop-confined.
final class LoopFlushQueue: @unchecked Sendable {
    private let eventLoop: any EventLoop
    private var waiting: [StompSessionHandler] = []
    private var spare: [StompSessionHandler] = []
    private var scheduled = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Adds `session` to the next flush; must run on the loop.
    func enqueue(_ session: StompSessionHandler) {
        eventLoop.assertInEventLoop()
        waiting.append(session)
        if !scheduled {
            scheduled = true
            eventLoop.execute { self.flushAll() }
        }
    }

    private func flushAll() {
        scheduled = false
        // Swapped out first: a flush can close a session, whose writes may enqueue again.
        swap(&waiting, &spare)
        for session in spare { session.flushQueued() }
        spare.removeAll(keepingCapacity: true)
    }
}
