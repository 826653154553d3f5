import ParleyCodec

/// Why a ``StompClient`` operation failed or why the session ended.
public enum StompClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The server answered CONNECT with this ERROR frame.
    case connectRejected(StompFrame)
    /// The server sent this ERROR frame during the session; the session is over.
    case serverError(StompFrame)
    /// The server closed the connection without an ERROR frame.
    case connectionClosed
    /// No CONNECTED frame within the connect timeout.
    case connectTimedOut
    /// The server sent something other than CONNECTED or ERROR in reply to CONNECT.
    case unexpectedFrame(StompCommand)
    /// The server's CONNECTED named a version we did not offer.
    case unsupportedVersion(String)
    /// The server stayed silent longer than the negotiated heart-beat allows.
    case heartBeatTimeout(milliseconds: Int)
    /// No RECEIPT for this receipt id within the receipt timeout.
    case receiptTimedOut(String)
    /// The inbound byte stream could not be decoded (the text of the decoding error).
    case decodingFailed(String)
    /// The transport failed (the text of the transport error).
    case transportFailed(String)
    /// The session was ended by ``StompClient/disconnect(timeout:)`` or ``StompClient/close()``.
    case disconnected

    /// Human-readable text, with the server's `message` header for ERROR frames.
    public var description: String {
        switch self {
        case .connectRejected(let frame): "CONNECT rejected: \(Self.summary(of: frame))"
        case .serverError(let frame): "server sent ERROR: \(Self.summary(of: frame))"
        case .connectionClosed: "the server closed the connection"
        case .connectTimedOut: "no CONNECTED frame in time"
        case .unexpectedFrame(let command): "unexpected \(command) frame in reply to CONNECT"
        case .unsupportedVersion(let version): "server chose unsupported STOMP version '\(version)'"
        case .heartBeatTimeout(let ms): "no data from the server for more than \(ms) ms (heart-beat)"
        case .receiptTimedOut(let id): "no RECEIPT for receipt id '\(id)' in time"
        case .decodingFailed(let text): "cannot decode server data: \(text)"
        case .transportFailed(let text): "transport failed: \(text)"
        case .disconnected: "the session is disconnected"
        }
    }

    /// The ERROR frame behind this error, if any.
    public var errorFrame: StompFrame? {
        switch self {
        case .connectRejected(let frame), .serverError(let frame): frame
        default: nil
        }
    }

    static func summary(of frame: StompFrame) -> String {
        let message = frame.headers["message"] ?? "(no message header)"
        let body = frame.bodyString.trimmingWhitespace()
        return body.isEmpty ? message : "\(message): \(body.prefix(200))"
    }
}
