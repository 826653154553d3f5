import NIOCore

/// One end of a WebSocket connection that carries a byte stream (STOMP), directly on the socket's bytes: data
/// messages become the stream's bytes (a STOMP frame may span messages, a message may hold several frames),
/// pings get pongs, the close handshake is honoured both ways, and violations close with the right code.
///
/// Both Parley's server and its client use it, instead of NIO's frame decoder and encoder: no `WebSocketFrame`
/// and no boxed `NIOAny` per message.
/// - Outbound, each buffer becomes one data message (masked by a client, ``WebSocketFrameReader/Role/client``), its
///   header written in place when the buffer has room in front (``WebSocketWire/maximumHeaderLength`` for a
///   client, ``WebSocketWire/maximumUnmaskedHeaderLength`` for a server), so each message leaves as one buffer.
/// - A violation (``WebSocketWireError``) sets the close code (``WebSocketWireError/closeCode``: 1009 for a
///   message over the limit, 1007 for a close reason that is not UTF-8, else 1002). If
///   `violationError` maps it to an error, that error goes to the handlers behind, which are expected to close
///   (a server session first sends a STOMP ERROR); otherwise this handler closes at once.
public final class WebSocketStreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    /// Socket bytes.
    public typealias InboundIn = ByteBuffer
    /// Stream bytes.
    public typealias InboundOut = ByteBuffer
    /// Stream bytes (client) or complete frames (server).
    public typealias OutboundIn = ByteBuffer
    /// Socket bytes.
    public typealias OutboundOut = ByteBuffer

    private static let normalClosure: UInt16 = 1000

    private let role: WebSocketFrameReader.Role
    private let dataOpcode: UInt8
    private let violationError: @Sendable (WebSocketWireError) -> (any Error)?
    private var frames: WebSocketFrameStream
    private var maskingKeys = MaskingKeySource()
    /// Nothing more is read: a close frame arrived or the peer broke the protocol.
    private var readingStopped = false
    private var closeSent = false
    private var closeCode = WebSocketStreamHandler.normalClosure

    /// Creates the handler for one side of a connection.
    /// - Parameters:
    ///   - role: which side this is (a client masks what it sends and requires unmasked frames, a server the reverse).
    ///   - maxFrameSize: largest payload of one inbound frame.
    ///   - dataOpcode: opcode of the data messages written (``WebSocketWire/textOpcode`` or binary).
    ///   - violationError: what to tell the handlers behind about a violation; nil closes without telling them.
    public init(
        role: WebSocketFrameReader.Role,
        maxFrameSize: Int,
        dataOpcode: UInt8 = WebSocketWire.textOpcode,
        violationError: @escaping @Sendable (WebSocketWireError) -> (any Error)?
    ) {
        self.role = role
        self.dataOpcode = dataOpcode
        self.violationError = violationError
        self.frames = WebSocketFrameStream(reader: WebSocketFrameReader(maxPayload: maxFrameSize, role: role))
    }

    /// Reads the complete frames of this read; keeps a partial one for the next.
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !readingStopped else { return }
        do {
            try frames.consume(unwrapInboundIn(data)) { frame in
                handle(frame, context: context)
                return !readingStopped
            }
        } catch {
            readingStopped = true
            closeCode = error.closeCode
            if let reported = violationError(error) {
                context.fireErrorCaught(reported)
            } else {
                close(context: context, mode: .all, promise: nil)
            }
        }
    }

    private func handle(_ frame: WebSocketWireFrame, context: ChannelHandlerContext) {
        switch frame.opcode {
        case WebSocketWire.textOpcode, WebSocketWire.binaryOpcode, WebSocketWire.continuationOpcode:
            if frame.payload.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(frame.payload)) }
        case WebSocketWire.pingOpcode:
            context.writeAndFlush(wrapOutboundOut(controlFrame(WebSocketWire.pongOpcode, frame.payload, context)), promise: nil)
        case WebSocketWire.closeOpcode:
            readingStopped = true
            if closeSent {
                context.close(promise: nil)
            } else {
                // Echo the peer's code (RFC 6455 §5.5.1), then close.
                closeCode = frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt16.self) ?? Self.normalClosure
                close(context: context, mode: .all, promise: nil)
            }
        default:
            break  // pong
        }
    }

    /// Frames each buffer as one data message: masked by a client, unmasked by a server. The header goes in place
    /// when the writer reserved room in front (``WebSocketWire/buffer(capacity:headroom:allocator:)``).
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var bytes = unwrapOutboundIn(data)
        let maskingKey: UInt32? = role == .client ? maskingKeys.next32() : nil
        WebSocketWire.prependHeader(opcode: dataOpcode, maskingKey: maskingKey, to: &bytes)
        context.write(wrapOutboundOut(bytes), promise: promise)
    }

    /// Sends a close frame (1000, or the code a violation or the peer's close set) before closing, so the peer
    /// sees a clean WebSocket close.
    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard !closeSent, mode == .all, context.channel.isActive else {
            context.close(mode: mode, promise: promise)
            return
        }
        closeSent = true
        var code = context.channel.allocator.buffer(capacity: 2)
        code.writeInteger(closeCode)
        context.writeAndFlush(wrapOutboundOut(controlFrame(WebSocketWire.closeOpcode, code, context)), promise: nil)
        // Close on the next tick: a close requested from a write's completion runs inside NIO's flush loop,
        // and closing right away would drop the close frame that flush has not reached yet.
        context.eventLoop.assumeIsolated().execute {
            context.close(mode: mode, promise: promise)
        }
    }

    private func controlFrame(_ opcode: UInt8, _ payload: ByteBuffer, _ context: ChannelHandlerContext) -> ByteBuffer {
        let key: UInt32? = role == .client ? maskingKeys.next32() : nil
        return WebSocketWire.make(opcode: opcode, payload: payload, maskingKey: key, allocator: context.channel.allocator)
    }
}
