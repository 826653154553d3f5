import NIOCore
import ParleyCodec
import Synchronization

/// Where an application's message goes.
public enum DeliveryTarget: Sendable, Hashable {
    /// Every local subscriber of a `/topic/...` destination.
    case topic(String)
    /// Every local session of user `principal` subscribed to `destination` (a `/user/queue/...` name as the
    /// subscriber writes it), except the session `excluding` (the one the message came from, say).
    case user(_ principal: String, destination: String, excluding: BrokerSessionID? = nil)
}

/// The shared state of one chat node: who is subscribed to what, and the fan-out of messages to sessions.
///
/// Sessions (``StompSessionHandler``) live on their channels' event loops; the broker only keeps immutable
/// ``Subscription`` records behind one short-held lock. Delivery snapshots the subscriber list, releases the lock
/// and hops to each target event loop once per batch, where each session writes its MESSAGE frames. Applications
/// (``StompApplication``) handle `/app/...` SENDs and deliver through ``deliver(_:to:)``.
public final class StompBroker: Sendable {
    /// Limits and timings.
    public let configuration: BrokerConfiguration
    /// Verifies CONNECT tokens.
    public let authenticator: any StompAuthenticator
    /// Counters, also exported through swift-metrics.
    public let statistics = BrokerStatistics()

    private let applications: [String: any StompApplication]
    /// Every application destination, sorted, for sessions' error messages.
    let applicationDestinations: [String]
    /// Topic prefixes applications publish to, each with the destination clients should send to instead.
    let applicationTopics: [StompSessionStateMachine.ApplicationTopic]
    /// What all sessions hold together, against ``BrokerConfiguration/nodeMemoryBudget``.
    let memory: NodeMemory
    private let registry = Mutex(Registry())
    private let flushQueues = Mutex<[ObjectIdentifier: NIOLoopBound<LoopFlushQueue>]>([:])
    private let sessionCounter = Atomic<Int>(0)
    private let sessionIdPrefix: String

    /// Creates a broker whose sessions hand `/app/...` SENDs to `applications` (each destination to the one
    /// application that lists it).
    public init(
        configuration: BrokerConfiguration = BrokerConfiguration(), authenticator: any StompAuthenticator,
        applications: [any StompApplication] = []
    ) {
        self.configuration = configuration
        self.authenticator = authenticator
        var byDestination: [String: any StompApplication] = [:]
        for application in applications {
            for destination in application.destinations {
                precondition(byDestination[destination] == nil, "two applications claim \(destination)")
                byDestination[destination] = application
            }
        }
        self.applications = byDestination
        self.applicationDestinations = byDestination.keys.sorted()
        self.applicationTopics = applications.flatMap { application in
            application.publishedTopicPrefixes.map {
                .init(prefix: $0, sendInstead: application.destinations.first ?? "an application destination")
            }
        }
        self.memory = NodeMemory(budget: configuration.nodeMemoryBudget)
        // A random prefix keeps session ids unique across nodes and restarts.
        self.sessionIdPrefix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }

    /// A new session handler for one connection. `maxVersion` caps negotiation (e.g. from a WebSocket
    /// subprotocol such as `v11.stomp`); `headroom` bytes are reserved in front of every outbound frame for the
    /// transport's own header (a WebSocket frame header, written in place by the handler in front). CONNECT must
    /// complete by `connectDeadline` (default: the configured timeout from when the handler joins the pipeline);
    /// a transport with its own handshake passes the deadline it counted from accept.
    public func makeSessionHandler(
        maxVersion: StompVersion = .v1_2, headroom: Int = 0, connectDeadline: NIODeadline? = nil
    ) -> StompSessionHandler {
        StompSessionHandler(broker: self, maxVersion: maxVersion, headroom: headroom, connectDeadline: connectDeadline)
    }

    /// Bytes the sessions hold together (reserved in 64 KiB chunks), against the node memory budget.
    public var memoryInUse: Int { memory.inUse }

    /// Sessions currently open (connected or not yet authenticated).
    public var sessionCount: Int { registry.withLock { $0.sessions.count } }

    /// Sends every open session an ERROR with `reason` and closes it; used on shutdown.
    public func closeAllSessions(reason: String = "server is shutting down") {
        let sessions = registry.withLock { Array($0.sessions.values) }
        for session in sessions {
            session.eventLoop.execute { session.value.shutDown(reason: reason) }
        }
    }

    // MARK: - Delivery

    /// Delivers `message` to the local sessions `target` names.
    public func deliver(_ message: BrokerMessage, to target: DeliveryTarget) {
        let subscriptions = registry.withLock { $0.subscriptions(for: target) }
        dispatch(message, to: subscriptions, redelivered: false)
    }

    /// Delivers `message` to the local sessions of every target (a direct message: the receiver and the sender's
    /// other sessions), resolved under one lock.
    public func deliver(_ message: BrokerMessage, to targets: [DeliveryTarget]) {
        guard targets.count > 1 else {
            if let target = targets.first { deliver(message, to: target) }
            return
        }
        let subscriptions = registry.withLock { registry in targets.flatMap { registry.subscriptions(for: $0) } }
        dispatch(message, to: subscriptions, redelivered: false)
    }

    /// Delivers a batch, in order: one registry lock for all, then one task per event loop with everything its
    /// sessions get, instead of a task (and often a wake-up) per message.
    public func deliver(contentsOf batch: [(BrokerMessage, DeliveryTarget)]) {
        var items: [(BrokerMessage, Subscription)] = []
        registry.withLock { registry in
            for (message, target) in batch {
                for subscription in registry.subscriptions(for: target) { items.append((message, subscription)) }
            }
        }
        dispatch(items, redelivered: false)
    }

    /// Hands user-queue messages that a session will not acknowledge to another session of the same user
    /// subscribed to the same destination, marked `redelivered`. Messages nobody else can take are dropped
    /// and counted.
    func redeliver(_ messages: [PendingMessage], excluding session: BrokerSessionID) {
        guard !messages.isEmpty else { return }
        var assignments: [(BrokerMessage, Subscription)] = []
        registry.withLock { registry in
            for pending in messages {
                guard let owner = pending.subscription.userQueueOwner else { continue }
                let key = UserQueueKey(principal: owner, destination: pending.subscription.destination)
                if let target = registry.userQueues[key]?.first(where: { $0.sessionID != session }) {
                    assignments.append((pending.message, target))
                }
            }
        }
        statistics.redelivered.add(assignments.count)
        statistics.droppedUnacked.add(messages.count - assignments.count)
        dispatch(assignments, redelivered: true)
    }

    private func dispatch(_ message: BrokerMessage, to targets: [Subscription], redelivered: Bool) {
        if targets.count == 1 {
            let target = targets[0]
            if target.session.eventLoop.inEventLoop {
                target.session.value.deliver(message, on: target, redelivered: redelivered)
            } else {
                target.session.eventLoop.execute { target.session.value.deliver(message, on: target, redelivered: redelivered) }
            }
        } else if !targets.isEmpty {
            dispatch(targets.map { (message, $0) }, redelivered: redelivered)
        }
    }

    /// Hands each event loop its share of `items` in one step, in order: inline when already on it, else one task.
    private func dispatch(_ items: [(BrokerMessage, Subscription)], redelivered: Bool) {
        var groups: [(loop: any EventLoop, items: [(BrokerMessage, Subscription)])] = []
        for item in items {
            if let index = groups.firstIndex(where: { $0.loop === item.1.session.eventLoop }) {
                groups[index].items.append(item)
            } else {
                groups.append((item.1.session.eventLoop, [item]))
            }
        }
        for group in groups {
            let share = group.items
            if group.loop.inEventLoop {
                for (message, target) in share { target.session.value.deliver(message, on: target, redelivered: redelivered) }
            } else {
                group.loop.execute {
                    for (message, target) in share { target.session.value.deliver(message, on: target, redelivered: redelivered) }
                }
            }
        }
    }

    // MARK: - Sessions (called by their handlers, on their event loops)

    /// Registers a new session; its id also names it in CONNECTED's `session` header.
    func register(_ session: NIOLoopBound<StompSessionHandler>) -> BrokerSessionID {
        let id = BrokerSessionID(rawValue: sessionCounter.wrappingAdd(1, ordering: .relaxed).newValue)
        registry.withLock { $0.sessions[id] = session }
        return id
    }

    /// The `session` header value for `id`.
    func sessionName(_ id: BrokerSessionID) -> String { "\(sessionIdPrefix)-\(id.rawValue)" }

    /// The application that handles SENDs to `destination`.
    func application(for destination: String) -> (any StompApplication)? { applications[destination] }

    /// The flush list shared by the sessions of `eventLoop`.
    func flushQueue(for eventLoop: any EventLoop) -> LoopFlushQueue {
        let bound = flushQueues.withLock { queues in
            if let queue = queues[ObjectIdentifier(eventLoop)] { return queue }
            let queue = NIOLoopBound(LoopFlushQueue(eventLoop: eventLoop), eventLoop: eventLoop)
            queues[ObjectIdentifier(eventLoop)] = queue
            return queue
        }
        return bound.value
    }

    func add(_ subscription: Subscription) {
        registry.withLock { $0.add(subscription) }
    }

    func remove(_ subscription: Subscription) {
        registry.withLock { $0.remove(subscription) }
    }

    /// Forgets `session` and its subscriptions; later deliveries can no longer pick it.
    func unregister(_ session: BrokerSessionID, subscriptions: some Sequence<Subscription>) {
        registry.withLock { registry in
            registry.sessions[session] = nil
            for subscription in subscriptions { registry.remove(subscription) }
        }
    }
}

private struct UserQueueKey: Hashable {
    var principal: String
    var destination: String
}

private struct Registry {
    var topics: [String: [Subscription]] = [:]
    var userQueues: [UserQueueKey: [Subscription]] = [:]
    var sessions: [BrokerSessionID: NIOLoopBound<StompSessionHandler>] = [:]

    func subscriptions(for target: DeliveryTarget) -> [Subscription] {
        switch target {
        case .topic(let destination):
            return topics[destination] ?? []
        case .user(let principal, let destination, let excluded):
            let all = userQueues[UserQueueKey(principal: principal, destination: destination)] ?? []
            guard let excluded else { return all }
            return all.filter { $0.sessionID != excluded }
        }
    }

    mutating func add(_ subscription: Subscription) {
        if let owner = subscription.info.userQueueOwner {
            userQueues[UserQueueKey(principal: owner, destination: subscription.info.destination), default: []].append(subscription)
        } else {
            topics[subscription.info.destination, default: []].append(subscription)
        }
    }

    mutating func remove(_ subscription: Subscription) {
        let destination = subscription.info.destination
        if let owner = subscription.info.userQueueOwner {
            let key = UserQueueKey(principal: owner, destination: destination)
            userQueues[key]?.removeAll { $0 === subscription }
            if userQueues[key]?.isEmpty == true { userQueues[key] = nil }
        } else {
            topics[destination]?.removeAll { $0 === subscription }
            if topics[destination]?.isEmpty == true { topics[destination] = nil }
        }
    }
}
