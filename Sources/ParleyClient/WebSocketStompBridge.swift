import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Whether outgoing STOMP bytes travel in WebSocket text or binary messages.
public enum WebSocketMessageKind: String, Sendable, Hashable, CaseIterable {
    /// Text messages (what browsers' STOMP clients and RabbitMQ Web-STOMP use by default).
    case text
    /// Binary messages (needed for bodies that are not UTF-8).
    case binary
}

/// Sits between the WebSocket frame codec and the STOMP byte decoder: unwraps data messages into a byte stream
/// (a STOMP frame may span messages, a message may hold several frames), answers pings and close handshakes,
/// and wraps each outgoing buffer into one masked message, as RFC 6455 requires of clients.
final class WebSocketStompBridge: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = WebSocketFrame

    private let messageKind: WebSocketMessageKind
    private var sentClose = false

    init(messageKind: WebSocketMessageKind) {
        self.messageKind = messageKind
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary, .continuation:
            context.fireChannelRead(wrapInboundOut(frame.unmaskedData))
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            if !sentClose {
                sentClose = true
                var echo = frame.unmaskedData
                let code = echo.readSlice(length: min(2, echo.readableBytes)) ?? ByteBuffer()
                let reply = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: code)
                context.writeAndFlush(wrapOutboundOut(reply)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            } else {
                context.close(promise: nil)
            }
        default:
            break
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let bytes = unwrapOutboundIn(data)
        let opcode: WebSocketOpcode = messageKind == .text ? .text : .binary
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: opcode, maskKey: .random(), data: bytes)), promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all, !sentClose, context.channel.isActive else {
            context.close(mode: mode, promise: promise)
            return
        }
        // A clean close: send our close frame (1000, normal closure), then close the socket.
        sentClose = true
        var payload = context.channel.allocator.buffer(capacity: 2)
        payload.write(webSocketErrorCode: .normalClosure)
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: payload)
        context.writeAndFlush(wrapOutboundOut(frame)).assumeIsolated().whenComplete { _ in
            context.close(mode: mode, promise: promise)
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
