import NIOCore

/// A message body on its way to subscribers, with its header tail encoded once for all of them.
public struct BrokerMessage: Sendable {
    /// The body bytes.
    public let body: ByteBuffer
    /// `content-type` (when known), `content-length` and the blank line ending the headers.
    let headerTail: ByteBuffer

    /// Bytes it occupies while a session holds it unacknowledged.
    var size: Int { body.readableBytes + headerTail.readableBytes }

    /// A message with `body`, labelled `contentType` when given.
    public init(body: ByteBuffer, contentType: String?) {
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

/// A message delivered on a client-acknowledged subscription and not yet ACKed, or one handed on for another session.
struct PendingMessage {
    /// The subscription it was delivered on.
    var subscription: SessionSubscription
    /// The message.
    var message: BrokerMessage
    /// Its MESSAGE number in the session that holds it (0 when handed back undelivered); orders redelivery.
    var sequence: Int
}

/// Identifies one session within a broker (for applications: "not the session this came from").
public struct BrokerSessionID: Hashable, Sendable {
    /// The broker-wide serial number.
    public let rawValue: Int
    /// Wraps a serial number.
    public init(rawValue: Int) { self.rawValue = rawValue }
}
