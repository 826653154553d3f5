import NIOCore
import ParleyCodec

/// A session's outbound bookkeeping: the newest write is held back so that the flush sending it can carry the
/// batch's one promise, and the bytes written but not yet on the socket are counted for the slow-consumer limit.
struct OutboundBatch {
    /// Bytes reserved in front of every frame for the transport's header.
    let headroom: Int
    /// The channel's allocator, kept so a delivery does not reach through `context.channel` (a retain and a
    /// release per MESSAGE in a fan-out).
    var allocator = ByteBufferAllocator()
    /// The newest write, not yet passed to the channel.
    var held: ByteBuffer?
    /// Bytes written since the last flush.
    var unflushedBytes = 0
    /// Bytes flushed whose write has not completed.
    var inFlightBytes = 0
    /// A flush is queued on the loop's ``LoopFlushQueue``.
    var flushScheduled = false

    /// Bytes written but not yet on the socket.
    var pendingBytes: Int { unflushedBytes + inFlightBytes }

    /// A buffer for one frame of about `capacity` bytes, with the transport's headroom reserved.
    func makeBuffer(capacity: Int) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: capacity + headroom)
        buffer.moveWriterIndex(to: headroom)
        buffer.moveReaderIndex(to: headroom)
        return buffer
    }

    /// Holds `buffer` back; returns the write it replaces, to be passed on without a flush.
    mutating func hold(_ buffer: ByteBuffer) -> ByteBuffer? {
        let previous = held.take()
        held = buffer
        unflushedBytes += buffer.readableBytes
        return previous
    }

    /// The held write and the byte count of the batch it ends, now in flight; `nil` when nothing is held.
    mutating func takeBatch() -> (last: ByteBuffer, bytes: Int)? {
        guard let last = held.take() else { return nil }
        let batch = unflushedBytes
        unflushedBytes = 0
        inFlightBytes += batch
        return (last, batch)
    }
}

extension ByteBuffer {
    /// Writes a MESSAGE frame: the subscription's `prefix` (command, destination, subscription), `message-id`, `ack`
    /// (same value) when asked for, `redelivered`, then the message's shared header tail, body and NUL. The hot
    /// path of every fan-out: no `StompFrame`, no header dictionary, no String per delivery.
    mutating func writeMessageFrame(
        _ message: BrokerMessage, prefix: ByteBuffer, id: Int, ackHeader: Bool, redelivered: Bool
    ) {
        writeImmutableBuffer(prefix)
        writeStaticString("message-id:")
        writeDecimal(id)
        writeStaticString("\n")
        if ackHeader {
            writeStaticString("ack:")
            writeDecimal(id)
            writeStaticString("\n")
        }
        if redelivered { writeStaticString("redelivered:true\n") }
        writeImmutableBuffer(message.headerTail)
        writeImmutableBuffer(message.body)
        writeInteger(UInt8(0))
    }

    /// Writes `RECEIPT` for `receiptId`, escaped for `version`.
    mutating func writeReceiptFrame(_ receiptId: String, version: StompVersion) {
        writeStaticString("RECEIPT\nreceipt-id:")
        writeString(StompHeaderEscaping.escape(receiptId, version: version))
        writeStaticString("\n\n\0")
    }

    /// Writes a non-negative integer in decimal without building a `String` (once per delivered MESSAGE).
    mutating func writeDecimal(_ value: Int) {
        precondition(value >= 0)
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for any Int
        withUnsafeMutableBytes(of: &scratch) { digits in
            var rest = value
            var start = digits.count
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            writeBytes(UnsafeRawBufferPointer(rebasing: digits[start...]))
        }
    }
}
