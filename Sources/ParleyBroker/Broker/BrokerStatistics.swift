import Metrics
import Synchronization

/// Broker counters, readable in tests and exported as swift-metrics counters.
public final class BrokerStatistics: Sendable {
    /// Sessions disconnected because their outbound buffer or unacknowledged messages exceeded the limit.
    public let slowConsumerDisconnects = CountingMetric(label: "parley_chat_slow_consumer_disconnects_total")
    /// Sessions closed with an ERROR for a protocol violation.
    public let protocolErrors = CountingMetric(label: "parley_chat_protocol_errors_total")
    /// CONNECTs refused because the token was missing or did not verify.
    public let authenticationFailures = CountingMetric(label: "parley_chat_authentication_failures_total")
    /// Sessions that completed CONNECT.
    public let sessionsConnected = CountingMetric(label: "parley_chat_sessions_connected_total")
    /// Chat events fanned out by this node (counted by the application that delivers them).
    public let eventsDelivered = CountingMetric(label: "parley_chat_events_delivered_total")
    /// Unacknowledged or NACKed user-queue messages handed to another session.
    public let redelivered = CountingMetric(label: "parley_chat_redelivered_total")
    /// Unacknowledged or NACKed messages no other session could take.
    public let droppedUnacked = CountingMetric(label: "parley_chat_dropped_unacked_total")

    init() {}

    /// Counts a session closed with an ERROR for `failure`.
    func record(_ failure: SessionFailure) {
        switch failure {
        case .protocolViolation: protocolErrors.add(1)
        case .authentication: authenticationFailures.add(1)
        case .slowConsumer: slowConsumerDisconnects.add(1)
        case .other: break
        }
    }
}

/// A swift-metrics counter that also keeps its own total, so tests and benchmarks can read it.
public final class CountingMetric: Sendable {
    private let counter: Counter
    private let total = Atomic<Int>(0)

    init(label: String) { counter = Counter(label: label) }

    /// The total so far.
    public var value: Int { total.load(ordering: .relaxed) }

    /// Adds `amount` (ignored unless positive).
    public func add(_ amount: Int) {
        guard amount > 0 else { return }
        total.wrappingAdd(amount, ordering: .relaxed)
        counter.increment(by: amount)
    }
}
