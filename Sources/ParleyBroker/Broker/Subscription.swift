import NIOCore
import ParleyCodec
import Synchronization

/// One SUBSCRIBE of one session as the registry holds it; immutable, so the broker can hand it to any thread.
final class Subscription: Sendable {
    /// What the session protocol knows of it.
    let info: SessionSubscription
    /// The session it belongs to.
    let sessionID: BrokerSessionID
    /// The session's handler, reachable on its event loop only.
    let session: NIOLoopBound<StompSessionHandler>
    /// `MESSAGE\ndestination:…\nsubscription:…\n`, escaped for the session's version.
    let messagePrefix: ByteBuffer
    /// Cleared by UNSUBSCRIBE (on the session's loop, where deliveries check it): a delivery already on its way
    /// to a subscription that ended is dropped, and one for a re-used id does not reach the new subscription.
    let isActive = Atomic<Bool>(true)

    init(
        _ info: SessionSubscription, sessionID: BrokerSessionID, session: NIOLoopBound<StompSessionHandler>,
        version: StompVersion
    ) {
        self.info = info
        self.sessionID = sessionID
        self.session = session
        var prefix = ByteBuffer()
        prefix.writeStaticString("MESSAGE\ndestination:")
        prefix.writeString(StompHeaderEscaping.escape(info.destination, version: version))
        prefix.writeStaticString("\nsubscription:")
        prefix.writeString(StompHeaderEscaping.escape(info.id, version: version))
        prefix.writeStaticString("\n")
        self.messagePrefix = prefix
    }
}
