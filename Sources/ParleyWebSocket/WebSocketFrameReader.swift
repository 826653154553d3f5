import NIOCore

/// One WebSocket frame read off the wire, payload already unmasked.
public struct WebSocketWireFrame: Sendable {
    /// The FIN bit: the last frame of a message.
    public var fin: Bool
    /// The opcode (``WebSocketWire/textOpcode`` …).
    public var opcode: UInt8
    /// The payload: a slice of the read buffer, no copy.
    public var payload: ByteBuffer

    /// True for text, binary and continuation frames.
    public var isData: Bool { opcode < 0x8 }
}

/// Why a peer's bytes are not acceptable WebSocket frames. The connection is closed after any of them, with
/// ``closeCode``.
public enum WebSocketWireError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A frame's payload is over the configured limit (close code 1009).
    case payloadTooLarge(length: UInt64, limit: Int)
    /// Any other violation of RFC 6455 (close code 1002).
    case protocolViolation(String)
    /// A payload that must be UTF-8 is not: a close frame's reason (close code 1007). Data frames are not checked:
    /// a STOMP body may be any bytes.
    case invalidPayloadData(String)

    /// The close code the connection is closed with (RFC 6455 §7.4.1).
    public var closeCode: UInt16 {
        switch self {
        case .payloadTooLarge: 1009
        case .protocolViolation: 1002
        case .invalidPayloadData: 1007
        }
    }

    /// Human-readable text.
    public var description: String {
        switch self {
        case .payloadTooLarge(let length, let limit): "WebSocket frame of \(length) bytes is over the \(limit)-byte limit"
        case .protocolViolation(let reason): "WebSocket protocol violation: \(reason)"
        case .invalidPayloadData(let reason): "invalid WebSocket payload: \(reason)"
        }
    }
}

/// Reads WebSocket frames from a stream of socket reads, as they arrive: complete frames come out as slices of
/// the input, a partial frame stays in the input for the next call. Refuses a frame as soon as its header says
/// it is too large, before its payload arrives.
public struct WebSocketFrameReader: Sendable {
    /// Which side of the connection the reader is on: a server requires masked frames, a client unmasked ones
    /// (RFC 6455 §5.1).
    public enum Role: Sendable {
        /// Reading what clients send.
        case server
        /// Reading what servers send.
        case client
    }

    /// Largest payload of one frame.
    public let maxPayload: Int
    /// Which side this reader is on.
    public let role: Role

    /// Creates a reader for frames of at most `maxPayload` bytes.
    public init(maxPayload: Int, role: Role) {
        self.maxPayload = maxPayload
        self.role = role
    }

    /// The next complete frame at the front of `buffer`, consuming it, or nil when more bytes are needed.
    /// An unmasked payload is a slice of `buffer`; a masked one is unmasked into a new buffer.
    public func next(from buffer: inout ByteBuffer) throws(WebSocketWireError) -> WebSocketWireFrame? {
        let start = buffer.readerIndex
        guard buffer.readableBytes >= 2,
            let first = buffer.getInteger(at: start, as: UInt8.self),
            let second = buffer.getInteger(at: start + 1, as: UInt8.self)
        else { return nil }
        let fin = first & 0x80 != 0
        let opcode = first & 0x0F
        guard first & 0x70 == 0 else { throw .protocolViolation("reserved bits set without a negotiated extension") }
        switch opcode {
        case 0x0, 0x1, 0x2:
            break
        case 0x8, 0x9, 0xA:
            guard fin else { throw .protocolViolation("fragmented control frame") }
        default:
            throw .protocolViolation("reserved opcode \(opcode)")
        }
        let masked = second & 0x80 != 0
        switch role {
        case .server where !masked: throw .protocolViolation("client frame not masked")
        case .client where masked: throw .protocolViolation("server frame masked")
        default: break
        }
        var headerLength = 2
        var length = UInt64(second & 0x7F)
        if length == 126 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt16.self) else { return nil }
            length = UInt64(extended)
            headerLength = 4
        } else if length == 127 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt64.self) else { return nil }
            guard extended & (1 << 63) == 0 else { throw .protocolViolation("64-bit length with the top bit set") }
            length = extended
            headerLength = 10
        }
        if opcode >= 0x8, length > 125 { throw .protocolViolation("control frame payload over 125 bytes") }
        guard length <= UInt64(maxPayload) else { throw .payloadTooLarge(length: length, limit: maxPayload) }
        var maskingKey: UInt32?
        if masked {
            guard let key = buffer.getInteger(at: start + headerLength, as: UInt32.self) else { return nil }
            maskingKey = key
            headerLength += 4
        }
        let payloadLength = Int(length)
        guard buffer.readableBytes >= headerLength + payloadLength else { return nil }
        buffer.moveReaderIndex(forwardBy: headerLength)
        var payload = buffer.readSlice(length: payloadLength)!
        if let maskingKey, payloadLength > 0 {
            // Unmasked into a copy: unmasking in place would make the read buffer copy itself whenever an earlier
            // frame's slice is still alive downstream.
            var unmasked = ByteBufferAllocator().buffer(capacity: payloadLength)
            unmasked.writeBuffer(&payload)
            unmasked.withUnsafeMutableReadableBytes { WebSocketWire.applyMask(maskingKey, to: $0) }
            payload = unmasked
        }
        if opcode == WebSocketWire.closeOpcode { try Self.checkClosePayload(payload) }
        return WebSocketWireFrame(fin: fin, opcode: opcode, payload: payload)
    }

    /// A close frame carries nothing, or a code that may be sent (RFC 6455 §7.4) and a UTF-8 reason (§5.5.1).
    static func checkClosePayload(_ payload: ByteBuffer) throws(WebSocketWireError) {
        guard payload.readableBytes > 0 else { return }
        guard let code = payload.getInteger(at: payload.readerIndex, as: UInt16.self) else {
            throw .protocolViolation("close frame with a 1-byte payload")
        }
        guard WebSocketWire.isSendableCloseCode(code) else { throw .protocolViolation("close code \(code) is not allowed") }
        let reason = payload.readableBytesView.dropFirst(2)
        guard String(validating: reason, as: UTF8.self) != nil else {
            throw .invalidPayloadData("close reason is not UTF-8")
        }
    }
}

/// A ``WebSocketFrameReader`` over one connection's socket reads: keeps the bytes of an unfinished frame from
/// one read to the next, and whether a fragmented message is open, so that a continuation frame without a
/// message to continue, or a new text or binary frame inside an unfinished one, is a protocol violation
/// (RFC 6455 §5.4). Control frames may come between fragments.
public struct WebSocketFrameStream: Sendable {
    /// The reader that checks and cuts the frames.
    public let reader: WebSocketFrameReader
    private var partial: ByteBuffer?
    /// A text or binary frame without FIN came, and its final continuation frame has not.
    private var messageOpen = false

    /// A stream with nothing buffered.
    public init(reader: WebSocketFrameReader) {
        self.reader = reader
    }

    /// Adds one read and calls `onFrame` with every frame now complete, in order, until it returns false (the
    /// connection is ending: later bytes are dropped). Throws the first violation, after which nothing is kept.
    public mutating func consume(
        _ read: ByteBuffer, onFrame: (WebSocketWireFrame) -> Bool
    ) throws(WebSocketWireError) {
        var bytes = read
        if var earlier = partial.take() {
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        while let frame = try reader.next(from: &bytes) {
            if frame.isData { try continueMessage(with: frame) }
            guard onFrame(frame) else { return }
        }
        if bytes.readableBytes > 0 {
            bytes.discardReadBytes()
            partial = bytes
        }
    }

    private mutating func continueMessage(with frame: WebSocketWireFrame) throws(WebSocketWireError) {
        if frame.opcode == WebSocketWire.continuationOpcode {
            guard messageOpen else { throw .protocolViolation("continuation frame without a message to continue") }
        } else if messageOpen {
            throw .protocolViolation("new data message inside an unfinished fragmented message")
        }
        messageOpen = !frame.fin
    }
}
