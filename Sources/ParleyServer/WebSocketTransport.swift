import NIOCore
import NIOHTTP1
import NIOWebSocket
import ParleyBroker
import ParleyCodec

/// The STOMP-over-WebSocket subprotocols, best first.
public enum StompSubprotocol {
    /// Supported `Sec-WebSocket-Protocol` values and the highest STOMP version each allows.
    public static let supported: [(name: String, version: StompVersion)] = [
        ("v12.stomp", .v1_2), ("v11.stomp", .v1_1), ("v10.stomp", .v1_0),
    ]

    /// The subprotocols a request offers, in its order.
    public static func offered(in headers: HTTPHeaders) -> [String] {
        headers[canonicalForm: "sec-websocket-protocol"].map { String($0).trimmingASCIISpaces() }.filter { !$0.isEmpty }
    }

    /// The best supported subprotocol among `offered`; `nil` when none is supported.
    public static func choose(from offered: [String]) -> (name: String, version: StompVersion)? {
        let lowered = Set(offered.map { $0.lowercased() })
        return supported.first { lowered.contains($0.name) }
    }
}

extension String {
    fileprivate func trimmingASCIISpaces() -> String {
        var view = Substring(self)
        while view.first == " " || view.first == "\t" { view.removeFirst() }
        while view.last == " " || view.last == "\t" { view.removeLast() }
        return String(view)
    }
}

/// Installs the HTTP/1.1 → WebSocket upgrade for STOMP on a fresh connection: `path` only, subprotocol
/// negotiation, and an HTTP error response (never a hang) for anything that does not upgrade.
public enum WebSocketTransport {
    static let fallbackHandlerName = "parley-http-fallback"

    /// Configures `channel`'s pipeline; must run on the channel's event loop.
    public static func configure(
        _ channel: any Channel, broker: StompBroker, path: String, maxFrameSize: Int
    ) throws {
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: maxFrameSize,
            automaticErrorHandling: true,
            shouldUpgrade: { channel, head in
                channel.eventLoop.makeSucceededFuture(upgradeResponseHeaders(for: head, path: path))
            },
            upgradePipelineHandler: { channel, head in
                let maxVersion = StompSubprotocol.choose(from: StompSubprotocol.offered(in: head.headers))?.version ?? .v1_2
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        WebSocketStompAdapter(), broker.makeSessionHandler(maxVersion: maxVersion))
                }
            })
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
            withServerUpgrade: (
                upgraders: [upgrader],
                completionHandler: { context in
                    if let fallback = try? context.pipeline.syncOperations.context(name: fallbackHandlerName) {
                        context.pipeline.syncOperations.removeHandler(context: fallback, promise: nil)
                    }
                }
            ),
            withErrorHandling: true)
        try channel.pipeline.syncOperations.addHandler(
            HTTPFallbackHandler(path: path, upgradeTimeout: broker.configuration.connectTimeout), name: fallbackHandlerName)
    }

    /// Response headers for an acceptable upgrade, or `nil` to answer with an HTTP error instead.
    static func upgradeResponseHeaders(for head: HTTPRequestHead, path: String) -> HTTPHeaders? {
        guard requestPath(head.uri) == path else { return nil }
        let offered = StompSubprotocol.offered(in: head.headers)
        if offered.isEmpty { return HTTPHeaders() }
        guard let chosen = StompSubprotocol.choose(from: offered) else { return nil }
        return HTTPHeaders([("Sec-WebSocket-Protocol", chosen.name)])
    }

    static func requestPath(_ uri: String) -> Substring {
        uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    }
}

/// Answers every request that did not become a WebSocket with a short plain-text HTTP error, then closes.
final class HTTPFallbackHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let path: String
    private let upgradeTimeout: TimeAmount
    private var pending: (HTTPResponseStatus, String)?
    private var timeout: Scheduled<Void>?

    init(path: String, upgradeTimeout: TimeAmount) {
        self.path = path
        self.upgradeTimeout = upgradeTimeout
    }

    /// A connection that neither upgrades nor completes a request in time is closed, so idle sockets
    /// cannot pile up before the STOMP session's own CONNECT timeout applies.
    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timeout = context.eventLoop.scheduleTask(in: upgradeTimeout) { channel.close(promise: nil) }
    }

    /// Removed once the upgrade succeeded: the session takes over.
    func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            pending = response(for: head)
        case .body:
            break
        case .end:
            let (status, text) = pending ?? (.badRequest, "bad request\n")
            pending = nil
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            headers.add(name: "Content-Length", value: String(text.utf8.count))
            headers.add(name: "Connection", value: "close")
            if status == .upgradeRequired {
                headers.add(name: "Upgrade", value: "websocket")
            }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }

    /// Upgrade failures (a bad Sec-WebSocket-Key, …) arrive here before the request itself; the request then
    /// gets its 400, so the error needs no further handling.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOWebSocketUpgradeError { return }
        context.close(promise: nil)
    }

    private func response(for head: HTTPRequestHead) -> (HTTPResponseStatus, String) {
        guard WebSocketTransport.requestPath(head.uri) == path else {
            return (.notFound, "not found: STOMP over WebSocket is served at \(path)\n")
        }
        let wantsWebSocket = head.headers[canonicalForm: "upgrade"].contains { $0.lowercased() == "websocket" }
        guard wantsWebSocket else {
            return (.upgradeRequired, "\(path) speaks STOMP over WebSocket: send a WebSocket upgrade request\n")
        }
        let offered = StompSubprotocol.offered(in: head.headers)
        if !offered.isEmpty, StompSubprotocol.choose(from: offered) == nil {
            let names = StompSubprotocol.supported.map(\.name).joined(separator: ", ")
            return (.badRequest, "unsupported WebSocket subprotocol \(offered.joined(separator: ", ")): supported are \(names)\n")
        }
        return (.badRequest, "invalid WebSocket upgrade request (check Sec-WebSocket-Key and Sec-WebSocket-Version: 13)\n")
    }
}

/// Maps WebSocket messages to STOMP bytes and back: data frames (text, binary, continuation) feed the
/// session's streaming decoder; each outbound STOMP frame becomes one text message; ping gets pong and the
/// close handshake is honoured in both directions.
public final class WebSocketStompAdapter: ChannelDuplexHandler, RemovableChannelHandler {
    /// WebSocket frames from the client.
    public typealias InboundIn = WebSocketFrame
    /// STOMP bytes for the session.
    public typealias InboundOut = ByteBuffer
    /// Encoded STOMP frames from the session.
    public typealias OutboundIn = ByteBuffer
    /// WebSocket frames to the client.
    public typealias OutboundOut = WebSocketFrame

    private var closeSent = false

    /// Creates an adapter.
    public init() {}

    /// Unwraps data, answers pings, completes the close handshake.
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary, .continuation:
            let payload = frame.unmaskedData
            if payload.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(payload)) }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .pong:
            break
        case .connectionClose:
            if closeSent {
                context.close(promise: nil)
            } else {
                closeSent = true
                var data = frame.unmaskedData
                let code = data.readWebSocketErrorCode() ?? .normalClosure
                var reply = context.channel.allocator.buffer(capacity: 2)
                reply.write(webSocketErrorCode: code)
                let close = WebSocketFrame(fin: true, opcode: .connectionClose, data: reply)
                context.writeAndFlush(wrapOutboundOut(close)).assumeIsolated().whenComplete { _ in
                    context.close(promise: nil)
                }
            }
        default:
            context.close(promise: nil)
        }
    }

    /// One STOMP frame (or heart-beat) per text message.
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = WebSocketFrame(fin: true, opcode: .text, data: unwrapOutboundIn(data))
        context.write(wrapOutboundOut(frame), promise: promise)
    }

    /// Sends a close frame before closing, so clients see a clean WebSocket close.
    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard !closeSent, mode == .all, context.channel.isActive else {
            context.close(mode: mode, promise: promise)
            return
        }
        closeSent = true
        var data = context.channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: .normalClosure)
        let close = WebSocketFrame(fin: true, opcode: .connectionClose, data: data)
        context.writeAndFlush(wrapOutboundOut(close), promise: nil)
        // Close on the next tick: a close requested from a write's completion runs inside NIO's flush loop,
        // and closing right away would drop the close frame that flush has not reached yet.
        context.eventLoop.assumeIsolated().execute {
            context.close(mode: mode, promise: promise)
        }
    }
}
