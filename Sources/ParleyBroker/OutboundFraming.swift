import NIOCore
import ParleyWebSocket

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
        case .webSocketText: WebSocketWire.maximumUnmaskedHeaderLength
        }
    }

    /// A buffer for one outbound frame of about `capacity` bytes, with the headroom reserved.
    func makeBuffer(capacity: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        WebSocketWire.buffer(capacity: capacity, headroom: headroom, allocator: allocator)
    }

    /// Turns the STOMP bytes in `buffer` into what goes on the wire.
    func seal(_ buffer: inout ByteBuffer) {
        switch self {
        case .none:
            return
        case .webSocketText:
            WebSocketWire.prependHeader(opcode: WebSocketWire.textOpcode, to: &buffer)
        }
    }
}
