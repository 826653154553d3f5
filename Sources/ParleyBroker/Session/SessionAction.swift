import NIOCore
import ParleyCodec

/// What ``StompSessionStateMachine`` asks its handler to do. The machine decides; the handler (the only part
/// that touches the channel, the clock, the broker and the applications) performs, in order.
enum SessionAction {
    /// Start the timer that ends a session without a CONNECT (``StompSessionStateMachine/connectTimedOut()``).
    case scheduleConnectTimeout(TimeAmount)
    /// Verify `token`, then report ``StompSessionStateMachine/authenticated(as:sessionId:now:)`` or
    /// ``StompSessionStateMachine/authenticationFailed(_:)``.
    case authenticate(token: String)
    /// The session is connected: count it, stop the CONNECT timer, and tick the heart-beat timers (`nil`: off).
    case startSession(sendHeartBeatEvery: TimeAmount?, checkHeartBeatEvery: TimeAmount?)
    /// Write a control frame (CONNECTED, ERROR).
    case write(StompFrame)
    /// Write `RECEIPT` for this receipt id.
    case writeReceipt(String)
    /// Write one heart-beat EOL.
    case writeHeartBeat
    /// Add a subscription to the broker's registry.
    case subscribe(SessionSubscription)
    /// Remove a subscription from the registry and hand its unacknowledged messages to the user's other sessions.
    case unsubscribe(id: String, unacknowledged: [PendingMessage])
    /// Deliver a client SEND to `/topic/...` subscribers.
    case publish(destination: String, message: BrokerMessage)
    /// Hand a SEND to the application owning `frame`'s destination, then report
    /// ``StompSessionStateMachine/applicationCompleted(receipt:_:)``.
    case dispatch(StompFrame, receipt: String?)
    /// Hand NACKed messages to the user's other sessions.
    case redeliver([PendingMessage])
    /// The session ends: stop every timer, leave the registry, hand unacknowledged messages on.
    case endSession(subscriptionIds: [String], unacknowledged: [PendingMessage])
    /// Count a failure in the broker's statistics.
    case record(SessionFailure)
    /// Flush what was written, then close; with `forceAfterGrace`, close anyway after the grace period.
    case closeAfterFlush(forceAfterGrace: Bool)
}

/// Why a session was closed with an ERROR, for the broker's counters.
enum SessionFailure: Equatable {
    /// The client broke the protocol.
    case protocolViolation
    /// The CONNECT token was missing or refused.
    case authentication
    /// The client did not keep up (outbound buffer or unacknowledged messages over their limits).
    case slowConsumer
    /// Anything not the client's fault as such: timeouts, relay trouble, shutdown.
    case other
}

/// What to do with one message the broker routed to this session (``StompSessionStateMachine/messageArrived(_:on:isActive:)``).
enum DeliveryDecision {
    /// Write it as MESSAGE `messageId`, with an `ack` header when `ackHeader`; then perform `then` (a
    /// slow-consumer disconnect when the unacknowledged limit is passed).
    case write(messageId: Int, ackHeader: Bool, then: [SessionAction] = [])
    /// Not for this session any more; a user-queue message goes back to the broker for the user's other sessions.
    case handBack(PendingMessage)
    /// Not for this session any more, and nobody else's either (a topic message).
    case drop
}
