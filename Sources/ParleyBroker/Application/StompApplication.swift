import NIOCore
import ParleyCodec

/// A handler behind `/app/...` destinations (Spring's `@MessageMapping` methods): the seam between the STOMP
/// session, which knows nothing of what a message means, and an application such as chat.
///
/// The session checks the frame (authenticated, a destination the application claims, transactions, receipts);
/// the application decides what the body means and what happens to it. A second application is added by
/// passing it to ``StompBroker/init(configuration:authenticator:applications:)``; the session does not change.
public protocol StompApplication: Sendable {
    /// The `/app/...` destinations this application accepts SENDs on (exact names).
    var destinations: [String] { get }

    /// Prefixes of `/topic/...` destinations only this application publishes to (chat rooms: its checks, such as
    /// "the sender is the authenticated user", would be bypassed by a client SEND straight to the topic). Clients
    /// may never SEND there; they are told to use ``destinations`` instead.
    var publishedTopicPrefixes: [String] { get }

    /// Handles one SEND, on the sending session's event loop; must not block.
    ///
    /// Return ``ApplicationOutcome/completed`` or ``ApplicationOutcome/rejected(_:)`` when the answer is known at
    /// once, or ``ApplicationOutcome/pending(_:)`` with a future on `request.eventLoop` (e.g. a relay's
    /// acknowledgement). A receipt, if asked for, is sent only once the outcome is success; a rejection
    /// becomes an ERROR frame and the session closes.
    func handle(_ request: ApplicationRequest) -> ApplicationOutcome
}

/// One SEND to an application destination.
public struct ApplicationRequest: Sendable {
    /// The `/app/...` destination.
    public var destination: String
    /// The frame's headers.
    public var headers: StompHeaders
    /// The frame's body.
    public var body: ByteBuffer
    /// Who sent it (the session's authenticated principal).
    public var principal: StompPrincipal
    /// The sending session, so that a delivery can skip it (``DeliveryTarget/user(_:destination:excluding:)``).
    public var session: BrokerSessionID
    /// The sending session's event loop, for ``ApplicationOutcome/pending(_:)`` futures.
    public var eventLoop: any EventLoop

    /// Creates a request.
    public init(
        destination: String, headers: StompHeaders, body: ByteBuffer, principal: StompPrincipal,
        session: BrokerSessionID, eventLoop: any EventLoop
    ) {
        self.destination = destination
        self.headers = headers
        self.body = body
        self.principal = principal
        self.session = session
        self.eventLoop = eventLoop
    }
}

/// What became of an ``ApplicationRequest``.
public enum ApplicationOutcome: Sendable {
    /// Done: the session sends the RECEIPT, if one was asked for.
    case completed
    /// Refused: the session sends ERROR with the reason, then closes.
    case rejected(ApplicationError)
    /// Decided later: success sends the RECEIPT; failure with an ``ApplicationError`` sends its message, any other
    /// error a generic one.
    case pending(EventLoopFuture<Void>)
}

/// Why an application refused a message. `message` goes verbatim into the ERROR frame, so it must be client safe.
public struct ApplicationError: Error, Sendable, Hashable {
    /// A short, client-safe reason.
    public var message: String
    /// `true` when the client broke the protocol (bad body, impersonation): counted as a protocol error.
    /// `false` for the server's own trouble (a relay that did not accept the message).
    public var isClientError: Bool

    /// Creates an error.
    public init(_ message: String, isClientError: Bool) {
        self.message = message
        self.isClientError = isClientError
    }
}

extension StompApplication {
    /// No topics of its own by default.
    public var publishedTopicPrefixes: [String] { [] }

    /// Handles `request` and calls `completion` on `request.eventLoop` with the outcome: inline when it is known at
    /// once, else when the pending future completes (an error that is not an ``ApplicationError`` becomes a
    /// generic, client-safe one).
    func handle(_ request: ApplicationRequest, completion: @escaping (Result<Void, ApplicationError>) -> Void) {
        switch handle(request) {
        case .completed:
            completion(.success(()))
        case .rejected(let error):
            completion(.failure(error))
        case .pending(let future):
            future.hop(to: request.eventLoop).assumeIsolated().whenComplete { result in
                completion(
                    result.mapError { $0 as? ApplicationError ?? ApplicationError("the application did not accept it", isClientError: false) })
            }
        }
    }
}
