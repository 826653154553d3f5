/// Bounds the decoder enforces while bytes stream in, so that a peer can never make it buffer unbounded data.
public struct StompLimits: Sendable, Hashable {
    /// Largest whole frame: command line, header lines, blank line, body and NUL.
    public var maxFrameSize: Int
    /// Largest body.
    public var maxBodySize: Int
    /// Most header lines in one frame (repeats count).
    public var maxHeaderCount: Int
    /// Longest header line, without its EOL.
    public var maxHeaderLineLength: Int
    /// Longest command line, without its EOL.
    public var maxCommandLength: Int

    /// 1 MiB frames and bodies, 64 headers, 8 KiB header lines, 32-byte commands.
    public static let `default` = StompLimits()

    /// Limits with the given values; every parameter defaults to the value in `default`.
    public init(
        maxFrameSize: Int = 1 << 20,
        maxBodySize: Int = 1 << 20,
        maxHeaderCount: Int = 64,
        maxHeaderLineLength: Int = 8 << 10,
        maxCommandLength: Int = 32
    ) {
        self.maxFrameSize = maxFrameSize
        self.maxBodySize = maxBodySize
        self.maxHeaderCount = maxHeaderCount
        self.maxHeaderLineLength = maxHeaderLineLength
        self.maxCommandLength = maxCommandLength
    }
}

/// Why bytes could not be decoded into a frame. After one, the connection must be closed: the decoder's
/// position inside the stream is lost.
public struct StompDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure; raw values are used verbatim in fixtures and CLI output.
    public enum Kind: String, Sendable, CaseIterable {
        /// The frame exceeds `StompLimits.maxFrameSize`.
        case frameTooLarge
        /// The body exceeds `StompLimits.maxBodySize`.
        case bodyTooLarge
        /// More header lines than `StompLimits.maxHeaderCount`.
        case tooManyHeaders
        /// A header line longer than `StompLimits.maxHeaderLineLength`.
        case headerLineTooLong
        /// A command line longer than `StompLimits.maxCommandLength`.
        case commandTooLong
        /// `content-length` is not a non-negative decimal integer that fits in `Int`.
        case invalidContentLength
        /// A backslash not followed by an escape the version defines.
        case invalidEscape
        /// The command line is not one of the STOMP commands (they are case-sensitive).
        case unknownCommand
        /// A header line without `:`, with an empty name, a bare carriage return or a NUL.
        case malformedHeader
        /// A body on a frame other than SEND, MESSAGE or ERROR.
        case bodyNotAllowed
        /// The byte after a `content-length` body is not NUL.
        case missingNullTerminator
        /// A header name or value is not valid UTF-8.
        case invalidUTF8
    }

    /// The kind of failure.
    public var kind: Kind
    /// Human-readable detail without peer-controlled bytes, so it is safe to echo in an ERROR frame.
    public var message: String

    /// An error of `kind` with `message`.
    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    /// An error of `kind` with `message`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// `kind: message`.
    public var description: String { "\(kind.rawValue): \(message)" }
}
