import NIOCore

/// How a session frames each outbound STOMP frame for its transport.
///
/// Over WebSocket every STOMP frame is one text message. The session writes the WebSocket header itself, into
/// room it reserved in front of the frame's bytes, so each frame leaves as one buffer: no separate header
/// buffer and no second pending write per delivery (a large share of the cost of a 1 → 1,000 room fan-out).
public enum OutboundFraming: Sendable {
    /// Raw STOMP bytes (TCP).
    case none
    /// One unmasked WebSocket text message per STOMP frame (server → client, RFC 6455 §5.2).
    case webSocketText

    /// Bytes reserved in front of every outbound frame: the longest server WebSocket header is 10 bytes.
    var headroom: Int {
        switch self {
        case .none: 0
        case .webSocketText: WebSocketServerFrame.maximumHeaderLength
        }
    }

    /// A buffer for one outbound frame of about `capacity` bytes, with the headroom reserved.
    func makeBuffer(capacity: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        WebSocketServerFrame.buffer(capacity: capacity, headroom: headroom, allocator: allocator)
    }

    /// Turns the STOMP bytes in `buffer` into what goes on the wire.
    func seal(_ buffer: inout ByteBuffer) {
        switch self {
        case .none:
            return
        case .webSocketText:
            WebSocketServerFrame.prependHeader(opcode: WebSocketServerFrame.textOpcode, to: &buffer)
        }
    }
}

/// Server-to-client WebSocket frames (never masked), encoded without NIO's frame encoder.
public enum WebSocketServerFrame {
    /// Opcode of a text message.
    public static let textOpcode: UInt8 = 0x1
    /// Opcode of a close frame.
    public static let closeOpcode: UInt8 = 0x8
    /// Opcode of a pong.
    public static let pongOpcode: UInt8 = 0xA
    /// The longest header: 2 bytes plus a 64-bit length.
    public static let maximumHeaderLength = 10

    /// Header bytes for a payload of `length` bytes.
    static func headerLength(payload length: Int) -> Int {
        length < 126 ? 2 : length <= Int(UInt16.max) ? 4 : 10
    }

    /// Puts a final (FIN) frame header with `opcode` in front of `buffer`'s readable bytes: in place when
    /// there is room before the reader index, else by copying into a new buffer.
    public static func prependHeader(opcode: UInt8, to buffer: inout ByteBuffer) {
        let length = buffer.readableBytes
        let headerLength = headerLength(payload: length)
        if buffer.readerIndex < headerLength {
            var framed = self.buffer(capacity: length, headroom: headerLength, allocator: ByteBufferAllocator())
            framed.writeImmutableBuffer(buffer)
            buffer = framed
        }
        let start = buffer.readerIndex - headerLength
        buffer.setInteger(0x80 | opcode, at: start)
        switch headerLength {
        case 2:
            buffer.setInteger(UInt8(length), at: start + 1)
        case 4:
            buffer.setInteger(UInt8(126), at: start + 1)
            buffer.setInteger(UInt16(length), at: start + 2)
        default:
            buffer.setInteger(UInt8(127), at: start + 1)
            buffer.setInteger(UInt64(length), at: start + 2)
        }
        buffer.moveReaderIndex(to: start)
    }

    /// A complete control or data frame with `payload`.
    public static func make(opcode: UInt8, payload: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = buffer(capacity: payload.readableBytes, headroom: maximumHeaderLength, allocator: allocator)
        buffer.writeImmutableBuffer(payload)
        prependHeader(opcode: opcode, to: &buffer)
        return buffer
    }

    /// An empty buffer for `capacity` bytes with `headroom` bytes reserved in front of its reader index.
    static func buffer(capacity: Int, headroom: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: capacity + headroom)
        buffer.moveWriterIndex(to: headroom)
        buffer.moveReaderIndex(to: headroom)
        return buffer
    }
}

/// A violation a transport detected below STOMP (a WebSocket message over the size limit, say): the session
/// answers it like a STOMP violation, with an ERROR frame carrying `message`, then closes.
public struct StompTransportError: Error, Sendable {
    /// What the ERROR frame's `message` header says.
    public var message: String

    /// Creates the error.
    public init(message: String) { self.message = message }
}
