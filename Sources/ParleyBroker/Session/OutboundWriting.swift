import NIOCore
import ParleyCodec

/// A session's outbound bookkeeping: the newest write is held back so that the flush sending it can carry the
/// batch's one promise; bytes written but not yet on the socket are counted for the slow-consumer limit; and while
/// the channel is not writable (NIO's buffer past its high watermark) frames wait in a backlog of whole frames, so
/// that a slow consumer's ERROR can go out right behind the little NIO holds instead of behind megabytes, and the
/// stream never ends inside a frame.
struct OutboundBatch {
    /// Bytes reserved in front of every frame for the transport's header.
    let headroom: Int
    /// The channel's allocator, kept so a delivery does not reach through `context.channel` (a retain and a
    /// release per MESSAGE in a fan-out).
    var allocator = ByteBufferAllocator()
    /// The newest write, not yet passed to the channel.
    private(set) var held: ByteBuffer?
    /// Frames waiting for the channel to become writable, oldest first.
    private(set) var backlog: [ByteBuffer] = []
    /// Bytes written since the last flush (held and backlog included).
    private(set) var unflushedBytes = 0
    /// Bytes flushed whose write has not completed.
    var inFlightBytes = 0
    /// A flush is queued on the loop's ``LoopFlushQueue``.
    var flushScheduled = false
    /// Whether the channel takes more writes now.
    var writable = true
    /// After ``abandonQueued()``: what is written from now on (an ERROR) goes out whatever the writability.
    private var forced = false
    /// Close once the backlog has gone out (a DISCONNECT's RECEIPT waiting behind it).
    var closeWhenDrained = false

    init(headroom: Int) { self.headroom = headroom }

    /// Bytes written but not yet on the socket.
    var pendingBytes: Int { unflushedBytes + inFlightBytes }

    private var passesThrough: Bool { forced || (writable && backlog.isEmpty) }

    /// A buffer for one frame of about `capacity` bytes, with the transport's headroom reserved.
    func makeBuffer(capacity: Int) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: capacity + headroom)
        buffer.moveWriterIndex(to: headroom)
        buffer.moveReaderIndex(to: headroom)
        return buffer
    }

    /// A MESSAGE frame for `message` (see ``ByteBuffer/writeMessageFrame(_:prefix:id:ackHeader:redelivered:)``).
    func messageFrame(_ message: BrokerMessage, prefix: ByteBuffer, id: Int, ackHeader: Bool, redelivered: Bool) -> ByteBuffer {
        var frame = makeBuffer(capacity: prefix.readableBytes + message.headerTail.readableBytes + message.body.readableBytes + 64)
        frame.writeMessageFrame(message, prefix: prefix, id: id, ackHeader: ackHeader, redelivered: redelivered)
        return frame
    }

    /// `frame` encoded for `version` (CONNECTED, ERROR: the rare frames).
    func encoded(_ frame: StompFrame, version: StompVersion) -> ByteBuffer {
        var buffer = makeBuffer(capacity: StompEncoder.estimatedSize(of: frame))
        StompEncoder.encode(frame, version: version, into: &buffer)
        return buffer
    }

    /// A RECEIPT frame for `receiptId`.
    func receiptFrame(_ receiptId: String, version: StompVersion) -> ByteBuffer {
        var buffer = makeBuffer(capacity: 24 + receiptId.utf8.count)
        buffer.writeReceiptFrame(receiptId, version: version)
        return buffer
    }

    /// One heart-beat EOL.
    func heartBeat() -> ByteBuffer {
        var buffer = makeBuffer(capacity: 1)
        buffer.writeInteger(StompEncoder.heartBeat)
        return buffer
    }

    /// Holds `buffer` back; returns the write it replaces when that may go to the channel now (else it waits in
    /// the backlog).
    mutating func hold(_ buffer: ByteBuffer) -> ByteBuffer? {
        unflushedBytes += buffer.readableBytes
        guard let previous = held.take() else {
            held = buffer
            return nil
        }
        held = buffer
        guard passesThrough else {
            backlog.append(previous)
            return nil
        }
        return previous
    }

    /// The held write and the byte count of the batch it ends, now in flight; `nil` when nothing is held or the
    /// channel is not writable (the held write then joins the backlog).
    mutating func takeBatch() -> (last: ByteBuffer, bytes: Int)? {
        guard let last = held.take() else { return nil }
        guard passesThrough else {
            backlog.append(last)
            return nil
        }
        let batch = unflushedBytes
        unflushedBytes = 0
        inFlightBytes += batch
        return (last, batch)
    }

    /// The channel became writable: the backlog, oldest first, to write now; the newest frame stays held so the
    /// next flush carries the promise for all of them.
    mutating func releaseBacklog() -> [ByteBuffer] {
        guard !backlog.isEmpty else { return [] }
        var released = backlog
        backlog = []
        if held == nil { held = released.removeLast() }
        return released
    }

    /// Drops every frame not yet passed to the channel (whole frames: nothing is cut) and lets what follows through:
    /// a slow consumer's ERROR goes out behind only what the channel already has.
    mutating func abandonQueued() {
        unflushedBytes -= backlog.reduce(held?.readableBytes ?? 0) { $0 + $1.readableBytes }
        backlog = []
        held = nil
        forced = true
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
