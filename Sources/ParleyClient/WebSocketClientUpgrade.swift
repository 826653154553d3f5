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

/// The client side of the WebSocket upgrade: NIO's upgrader offers and checks the handshake headers
/// (`Sec-WebSocket-Key`/`-Accept`); instead of NIO's frame codec, the pipeline then gets ParleyWebSocket's
/// `WebSocketStreamHandler` (masked data messages out, frames read straight off the socket's bytes) and whatever
/// `installHandlers` adds behind it. Violations by the server end the inbound stream with the
/// `WebSocketWireError` and close with 1002 or 1009.
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
        // Only its request key and accept check are used; its own pipeline set-up (and frame size) never runs.
        self.handshake = NIOWebSocketClientUpgrader { channel, _ in channel.eventLoop.makeSucceededVoidFuture() }
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
            let stream = WebSocketStreamHandler(
                role: .client, maxFrameSize: maxFrameSize,
                dataOpcode: messageKind == .text ? WebSocketWire.textOpcode : WebSocketWire.binaryOpcode,
                violationError: { $0 })
            try channel.pipeline.syncOperations.addHandler(stream)
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
