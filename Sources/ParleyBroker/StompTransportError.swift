/// A violation a transport detected below STOMP (a WebSocket message over the size limit, say): the session
/// answers it like a STOMP violation, with an ERROR frame carrying `message`, then closes.
public struct StompTransportError: Error, Sendable {
    /// What the ERROR frame's `message` header says.
    public var message: String

    /// Creates the error.
    public init(message: String) { self.message = message }
}
