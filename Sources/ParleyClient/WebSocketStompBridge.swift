import NIOCore
import NIOHTTP1
import NIOWebSocket
import ParleyWebSocket

/// Whether outgoing STOMP bytes travel in WebSocket text or binary messages.
public enum WebSocketMessageKind: String, Sendable, Hashable, CaseIterable {
    /// Text messages (what browsers' STOMP clients and RabbitMQ Web-STOMP use by default).
    case text
    /// Binary messages (needed for bodies that are not UTF-8).
    case binary
}

/// The client's WebSocket layer, directly on the socket's bytes: reads server frames into a STOMP byte stream
/// (a STOMP frame may span messages, a message may hold several frames), answers pings and close handshakes,
/// and turns each outgoing buffer into one masked message, as RFC 6455 requires of clients.
///
/// It replaces NIO's frame decoder, encoder and a bridge between them: no `WebSocketFrame` and no boxed
/// `NIOAny` per message, the header goes into room the connection reserved in front of each STOMP frame, and
/// masking runs eight bytes at a time, so a load generator's WebSocket clients cost about what TCP ones do.
final class WebSocketStompBridge: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let opcode: UInt8
    private var frames: WebSocketFrameStream
    private var sentClose = false
    private var failed = false
    /// The code of the close frame we send.
    private var closeCode = WebSocketErrorCode.normalClosure
    private var maskingKeys = MaskingKeySource()

    init(messageKind: WebSocketMessageKind, maxFrameSize: Int) {
        self.opcode = messageKind == .text ? WebSocketWire.textOpcode : WebSocketWire.binaryOpcode
        self.frames = WebSocketFrameStream(reader: WebSocketFrameReader(maxPayload: maxFrameSize, role: .client))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        do {
            try frames.consume(unwrapInboundIn(data)) { frame in
                handle(frame, context: context)
                return !failed
            }
        } catch {
            fail(error, context: context)
        }
    }

    private func handle(_ frame: WebSocketWireFrame, context: ChannelHandlerContext) {
        switch frame.opcode {
        case WebSocketWire.textOpcode, WebSocketWire.binaryOpcode, WebSocketWire.continuationOpcode:
            if frame.payload.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(frame.payload)) }
        case WebSocketWire.pingOpcode:
            context.writeAndFlush(wrapOutboundOut(controlFrame(WebSocketWire.pongOpcode, frame.payload, context)), promise: nil)
        case WebSocketWire.closeOpcode:
            if sentClose {
                context.close(promise: nil)
            } else {
                sentClose = true
                var echo = frame.payload
                let code = echo.readSlice(length: min(2, echo.readableBytes)) ?? ByteBuffer()
                context.writeAndFlush(wrapOutboundOut(controlFrame(WebSocketWire.closeOpcode, code, context)))
                    .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            }
        default:
            break  // pong
        }
    }

    /// A frame the server should not have sent: end the STOMP stream with the error and close with 1009 (too
    /// big) or 1002.
    private func fail(_ error: WebSocketWireError, context: ChannelHandlerContext) {
        failed = true
        if case .payloadTooLarge = error { closeCode = .messageTooLarge } else { closeCode = .protocolError }
        // The handlers behind react by closing, which passes through `close(context:mode:promise:)` below.
        context.fireErrorCaught(error)
        close(context: context, mode: .all, promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var bytes = unwrapOutboundIn(data)
        WebSocketWire.prependHeader(opcode: opcode, maskingKey: maskingKeys.next32(), to: &bytes)
        context.write(wrapOutboundOut(bytes), promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all, !sentClose, context.channel.isActive else {
            context.close(mode: mode, promise: promise)
            return
        }
        // Send our close frame (1000 unless a violation set another code), then close the socket.
        sentClose = true
        var payload = context.channel.allocator.buffer(capacity: 2)
        payload.write(webSocketErrorCode: closeCode)
        context.writeAndFlush(wrapOutboundOut(controlFrame(WebSocketWire.closeOpcode, payload, context))).assumeIsolated().whenComplete { _ in
            context.close(mode: mode, promise: promise)
        }
    }

    private func controlFrame(_ opcode: UInt8, _ payload: ByteBuffer, _ context: ChannelHandlerContext) -> ByteBuffer {
        WebSocketWire.make(opcode: opcode, payload: payload, maskingKey: maskingKeys.next32(), allocator: context.channel.allocator)
    }
}

/// The client side of the WebSocket upgrade: NIO's upgrader offers and checks the handshake headers
/// (`Sec-WebSocket-Key`/`-Accept`); instead of NIO's frame codec, the pipeline then gets ``WebSocketStompBridge``
/// and whatever `installHandlers` adds behind it.
final class StompWebSocketClientUpgrader: NIOHTTPClientProtocolUpgrader, Sendable {
    let supportedProtocol = "websocket"
    let requiredUpgradeHeaders: [String] = []

    private let handshake: NIOWebSocketClientUpgrader
    private let messageKind: WebSocketMessageKind
    private let maxFrameSize: Int
    private let installHandlers: @Sendable (any Channel, HTTPResponseHead) throws -> Void

    init(
        messageKind: WebSocketMessageKind,
        maxFrameSize: Int,
        installHandlers: @escaping @Sendable (any Channel, HTTPResponseHead) throws -> Void
    ) {
        self.handshake = NIOWebSocketClientUpgrader(maxFrameSize: min(maxFrameSize, Int(UInt32.max))) { channel, _ in
            channel.eventLoop.makeSucceededVoidFuture()
        }
        self.messageKind = messageKind
        self.maxFrameSize = maxFrameSize
        self.installHandlers = installHandlers
    }

    func addCustom(upgradeRequestHeaders: inout HTTPHeaders) {
        handshake.addCustom(upgradeRequestHeaders: &upgradeRequestHeaders)
    }

    func shouldAllowUpgrade(upgradeResponse: HTTPResponseHead) -> Bool {
        handshake.shouldAllowUpgrade(upgradeResponse: upgradeResponse)
    }

    func upgrade(context: ChannelHandlerContext, upgradeResponse: HTTPResponseHead) -> EventLoopFuture<Void> {
        let channel = context.channel
        return context.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(WebSocketStompBridge(messageKind: messageKind, maxFrameSize: maxFrameSize))
            try installHandlers(channel, upgradeResponse)
        }
    }
}
/// Placed behind the HTTP client handlers during the WebSocket handshake: a response that is not a
/// `101 Switching Protocols` upgrade, an error, or the connection closing fails the handshake with a clear error.
final class WebSocketHandshakeFailureHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<String?>

    init(promise: EventLoopPromise<String?>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            promise.fail(StompConnectionError.webSocketUpgradeRejected(status: Int(head.status.code), reason: head.status.reasonPhrase))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(StompConnectionError.webSocketHandshakeFailed(String(describing: error)))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(StompConnectionError.connectionClosedDuringHandshake)
        context.fireChannelInactive()
    }
}
