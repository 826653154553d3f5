import NIOCore

/// One STOMP frame: command, ordered headers and a body of raw bytes.
public struct StompFrame: Hashable, Sendable, CustomStringConvertible {
    /// The frame's command.
    public var command: StompCommand
    /// The header lines in wire order (already unescaped).
    public var headers: StompHeaders
    /// The body bytes; an empty buffer when the frame has no body.
    public var body: ByteBuffer

    /// A frame with a binary (or empty) body.
    public init(_ command: StompCommand, headers: StompHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.command = command
        self.headers = headers
        self.body = body
    }

    /// A frame with a UTF-8 text body.
    public init(_ command: StompCommand, headers: StompHeaders = [:], body: String) {
        self.init(command, headers: headers, body: ByteBuffer(string: body))
    }

    /// The body decoded as UTF-8; invalid sequences become U+FFFD.
    public var bodyString: String {
        String(buffer: body)
    }

    /// Command, headers and body size, for logs.
    public var description: String {
        "\(command) \(headers) body: \(body.readableBytes) bytes"
    }
}

/// What the decoder produces: a frame, or an end-of-line between frames (a heart-beat).
public enum StompDecoded: Hashable, Sendable {
    /// A complete frame.
    case frame(StompFrame)
    /// One EOL (LF or CRLF) between frames.
    case heartBeat
}
