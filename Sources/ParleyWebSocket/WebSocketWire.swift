import NIOCore

/// RFC 6455 frames written straight into `ByteBuffer`s, without NIO's `WebSocketFrame` type and codec handlers.
///
/// Parley's hot paths send one STOMP frame per WebSocket message. Writing the WebSocket header into room reserved
/// in front of the STOMP bytes (and masking those bytes in place, for clients) makes every message one buffer
/// and one pending write; NIO's encoder allocates a `WebSocketFrame`, a boxed `NIOAny` and often a second buffer.
public enum WebSocketWire {
    /// Opcode of a continuation frame.
    public static let continuationOpcode: UInt8 = 0x0
    /// Opcode of a text message.
    public static let textOpcode: UInt8 = 0x1
    /// Opcode of a binary message.
    public static let binaryOpcode: UInt8 = 0x2
    /// Opcode of a close frame.
    public static let closeOpcode: UInt8 = 0x8
    /// Opcode of a ping.
    public static let pingOpcode: UInt8 = 0x9
    /// Opcode of a pong.
    public static let pongOpcode: UInt8 = 0xA

    /// Whether a close frame may carry `code` (RFC 6455 §7.4): the defined codes 1000–1003 and 1007–1011, the
    /// IANA-registered 1012–1014, and the ranges for libraries (3000–3999) and applications (4000–4999). 1004–1006
    /// and 1015 are reserved or only for reporting, everything else is unassigned.
    public static func isSendableCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }

    /// The longest header: 2 bytes, a 64-bit length and a 4-byte masking key.
    public static let maximumHeaderLength = 14
    /// The longest header of an unmasked (server-to-client) frame.
    public static let maximumUnmaskedHeaderLength = 10

    /// Header bytes for a payload of `length` bytes.
    public static func headerLength(payload length: Int, masked: Bool) -> Int {
        (length < 126 ? 2 : length <= Int(UInt16.max) ? 4 : 10) + (masked ? 4 : 0)
    }

    /// An empty buffer for `capacity` bytes with `headroom` bytes reserved in front of its reader index.
    public static func buffer(capacity: Int, headroom: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: capacity + headroom)
        buffer.moveWriterIndex(to: headroom)
        buffer.moveReaderIndex(to: headroom)
        return buffer
    }

    /// Turns `buffer`'s readable bytes into one final (FIN) frame with `opcode`: the header goes in front, in
    /// place when there is room before the reader index (else the bytes are copied into a new buffer). With a
    /// `maskingKey` (clients must mask, RFC 6455 §5.3) the payload is masked in place.
    public static func prependHeader(opcode: UInt8, maskingKey: UInt32? = nil, to buffer: inout ByteBuffer) {
        let length = buffer.readableBytes
        let headerLength = headerLength(payload: length, masked: maskingKey != nil)
        if buffer.readerIndex < headerLength {
            var framed = self.buffer(capacity: length, headroom: headerLength, allocator: ByteBufferAllocator())
            framed.writeImmutableBuffer(buffer)
            buffer = framed
        }
        let maskBit: UInt8 = maskingKey == nil ? 0 : 0x80
        var index = buffer.readerIndex - headerLength
        buffer.setInteger(0x80 | opcode, at: index)
        if length < 126 {
            buffer.setInteger(maskBit | UInt8(length), at: index + 1)
            index += 2
        } else if length <= Int(UInt16.max) {
            buffer.setInteger(maskBit | 126, at: index + 1)
            buffer.setInteger(UInt16(length), at: index + 2)
            index += 4
        } else {
            buffer.setInteger(maskBit | 127, at: index + 1)
            buffer.setInteger(UInt64(length), at: index + 2)
            index += 10
        }
        if let maskingKey {
            buffer.setInteger(maskingKey, at: index)
            buffer.withUnsafeMutableReadableBytes { payload in
                applyMask(maskingKey, to: payload)
            }
        }
        buffer.moveReaderIndex(to: buffer.readerIndex - headerLength)
    }

    /// A complete final frame with `opcode` carrying `payload` (masked with `maskingKey`, if given).
    public static func make(opcode: UInt8, payload: ByteBuffer, maskingKey: UInt32? = nil, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = buffer(capacity: payload.readableBytes, headroom: maximumHeaderLength, allocator: allocator)
        buffer.writeImmutableBuffer(payload)
        prependHeader(opcode: opcode, maskingKey: maskingKey, to: &buffer)
        return buffer
    }

    /// XORs `bytes`, a whole payload, with the masking key (its network-order bytes, repeated). Masking and
    /// unmasking are the same operation. Eight bytes at a time.
    public static func applyMask(_ key: UInt32, to bytes: UnsafeMutableRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        let inMemoryOrder = key.bigEndian  // its bytes in memory are the key's bytes on the wire
        let wide = UInt64(inMemoryOrder) | UInt64(inMemoryOrder) << 32
        var index = 0
        let count = bytes.count
        while index + 8 <= count {
            let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            base.storeBytes(of: word ^ wide, toByteOffset: index, as: UInt64.self)
            index += 8
        }
        withUnsafeBytes(of: inMemoryOrder) { keyBytes in
            while index < count {
                bytes[index] ^= keyBytes[index & 3]
                index += 1
            }
        }
    }
}
