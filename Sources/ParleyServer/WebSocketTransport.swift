import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOWebSocket
import ParleyBroker
import ParleyCodec
import ParleyWebSocket

/// STOMP-over-WebSocket subprotocol negotiation (names from ParleyCodec's ``StompVersion``).
public enum StompSubprotocol {
    /// The subprotocols a request offers, in its order.
    public static func offered(in headers: HTTPHeaders) -> [String] {
        headers[canonicalForm: "sec-websocket-protocol"].map { String($0).trimmingASCIISpaces() }.filter { !$0.isEmpty }
    }

    /// The best supported subprotocol among `offered` and the highest version it allows; `nil` when none is STOMP's.
    public static func choose(from offered: [String]) -> (name: String, version: StompVersion)? {
        offered.compactMap(StompVersion.init(webSocketSubprotocol:)).max().map { ($0.webSocketSubprotocol, $0) }
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
        // One deadline from accept to CONNECTED: a dribbled handshake does not buy the session a second timeout.
        let connectDeadline = NIODeadline.now() + broker.configuration.connectTimeout
        let upgrader = StompWebSocketUpgrader(
            broker: broker, path: path, maxFrameSize: maxFrameSize, connectDeadline: connectDeadline)
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

    /// Response headers (the chosen subprotocol) for an acceptable upgrade, or `nil` when ``refusal(of:path:)``
    /// refuses it.
    static func upgradeResponseHeaders(for head: HTTPRequestHead, path: String) -> HTTPHeaders? {
        guard refusal(of: head, path: path) == nil else { return nil }
        guard let chosen = StompSubprotocol.choose(from: StompSubprotocol.offered(in: head.headers)) else { return HTTPHeaders() }
        return HTTPHeaders([("Sec-WebSocket-Protocol", chosen.name)])
    }

    /// Why `head` does not open a STOMP WebSocket at `path`, as the HTTP answer to give; `nil` when it does.
    ///
    /// RFC 6455 §4.2.1: a GET of HTTP/1.1 or later, `Upgrade: websocket`, `Connection` with the `Upgrade` token,
    /// one `Sec-WebSocket-Key` of 16 base64-encoded bytes, `Sec-WebSocket-Version: 13` (else 426 naming 13,
    /// §4.2.2), and a STOMP subprotocol if any is offered. NIO's upgrade handler only matches the `Upgrade` token.
    static func refusal(of head: HTTPRequestHead, path: String) -> HandshakeRefusal? {
        guard requestPath(head.uri) == path else {
            return HandshakeRefusal(.notFound, "not found: STOMP over WebSocket is served at \(path)")
        }
        guard headerTokens(head, "upgrade").contains("websocket") else {
            return HandshakeRefusal(
                .upgradeRequired, "\(path) speaks STOMP over WebSocket: send a WebSocket upgrade request",
                headers: [("Upgrade", "websocket")])
        }
        guard head.method == .GET else {
            return HandshakeRefusal(.badRequest, "a WebSocket upgrade must be a GET request, not \(head.method.rawValue)")
        }
        guard head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1) else {
            return HandshakeRefusal(.badRequest, "a WebSocket upgrade needs HTTP/1.1 or later, not \(head.version)")
        }
        guard headerTokens(head, "connection").contains("upgrade") else {
            return HandshakeRefusal(.badRequest, "a WebSocket upgrade needs the Upgrade token in its Connection header")
        }
        let versions = head.headers[canonicalForm: "sec-websocket-version"]
        guard versions.count == 1, versions[0] == "13" else {
            let found = versions.isEmpty ? "none" : versions.joined(separator: ", ")
            return HandshakeRefusal(
                .upgradeRequired, "unsupported Sec-WebSocket-Version (\(found)): this server speaks version 13",
                headers: [("Sec-WebSocket-Version", "13")])
        }
        let keys = head.headers[canonicalForm: "sec-websocket-key"]
        guard keys.count == 1, Data(base64Encoded: String(keys[0]))?.count == 16 else {
            return HandshakeRefusal(.badRequest, "invalid Sec-WebSocket-Key: one value, 16 random bytes in base64, is required")
        }
        let offered = StompSubprotocol.offered(in: head.headers)
        if !offered.isEmpty, StompSubprotocol.choose(from: offered) == nil {
            let names = StompVersion.webSocketSubprotocols.joined(separator: ", ")
            return HandshakeRefusal(
                .badRequest, "unsupported WebSocket subprotocol \(offered.joined(separator: ", ")): supported are \(names)")
        }
        return nil
    }

    /// The comma-separated tokens of every `name` header, lowercased.
    private static func headerTokens(_ head: HTTPRequestHead, _ name: String) -> [String] {
        head.headers[canonicalForm: name].map { $0.lowercased() }
    }

    static func requestPath(_ uri: String) -> Substring {
        uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    }
}

/// The RFC 6455 server handshake for STOMP. Unlike NIO's `NIOWebSocketServerUpgrader` it installs no NIO frame
/// codec: ParleyWebSocket's `WebSocketStreamHandler` reads frames and writes each STOMP frame as one text message,
/// its header in the room the session reserved in front (one buffer per frame).
struct StompWebSocketUpgrader: HTTPServerProtocolUpgrader, Sendable {
    let broker: StompBroker
    let path: String
    let maxFrameSize: Int
    /// When the connection must have completed CONNECT, counted from accept.
    let connectDeadline: NIODeadline

    let supportedProtocol = "websocket"
    // Checked in `buildUpgradeResponse`: listing them here would also demand them in `Connection`.
    let requiredUpgradeHeaders: [String] = []

    /// The GUID every `Sec-WebSocket-Accept` is derived with (RFC 6455 §1.3).
    static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    func buildUpgradeResponse(
        channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders
    ) -> EventLoopFuture<HTTPHeaders> {
        // A refused request reaches `HTTPFallbackHandler`, which answers with the refusal.
        guard var headers = WebSocketTransport.upgradeResponseHeaders(for: upgradeRequest, path: path),
            let key = upgradeRequest.headers[canonicalForm: "sec-websocket-key"].first
        else {
            return channel.eventLoop.makeFailedFuture(NIOWebSocketUpgradeError.invalidUpgradeHeader)
        }
        headers.replaceOrAdd(name: "Upgrade", value: "websocket")
        headers.add(name: "Sec-WebSocket-Accept", value: Self.acceptValue(forKey: String(key)))
        headers.replaceOrAdd(name: "Connection", value: "upgrade")
        return channel.eventLoop.makeSucceededFuture(headers)
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        let maxVersion = StompSubprotocol.choose(from: StompSubprotocol.offered(in: upgradeRequest.headers))?.version ?? .v1_2
        let broker = self.broker
        let maxFrameSize = self.maxFrameSize
        let connectDeadline = self.connectDeadline
        return context.eventLoop.makeCompletedFuture {
            try context.pipeline.syncOperations.addHandlers(
                WebSocketStreamHandler(role: .server, maxFrameSize: maxFrameSize) { violation in
                    // Too big: the session answers with a STOMP ERROR, then closes (our close frame says 1009).
                    // Other violations close at once with 1002.
                    guard case .payloadTooLarge(_, let limit) = violation else { return nil }
                    return StompTransportError(message: "frame too large: WebSocket message over the \(limit)-byte limit")
                },
                broker.makeSessionHandler(
                    maxVersion: maxVersion, headroom: WebSocketWire.maximumUnmaskedHeaderLength, connectDeadline: connectDeadline))
        }
    }

    /// `base64(SHA-1(key + GUID))`.
    static func acceptValue(forKey key: String) -> String {
        Data(Insecure.SHA1.hash(data: Array((key + acceptGUID).utf8))).base64EncodedString()
    }
}

/// Answers every request that did not become a WebSocket with a short plain-text HTTP error, then closes.
final class HTTPFallbackHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let path: String
    private let upgradeTimeout: TimeAmount
    private var pending: HandshakeRefusal?
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
            // nil only when the upgrade itself failed after the request was found acceptable.
            pending = WebSocketTransport.refusal(of: head, path: path)
                ?? HandshakeRefusal(.badRequest, "invalid WebSocket upgrade request")
        case .body:
            break
        case .end:
            let refusal = pending ?? HandshakeRefusal(.badRequest, "bad request")
            pending = nil
            let text = refusal.text + "\n"
            var headers = HTTPHeaders(refusal.headers)
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            headers.add(name: "Content-Length", value: String(text.utf8.count))
            headers.add(name: "Connection", value: "close")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: refusal.status, headers: headers))), promise: nil)
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

}

/// The HTTP answer to a request that does not become a WebSocket: a status, one line of plain text (without its
/// newline) and any headers the status calls for.
struct HandshakeRefusal: Sendable {
    var status: HTTPResponseStatus
    var text: String
    var headers: [(String, String)]

    init(_ status: HTTPResponseStatus, _ text: String, headers: [(String, String)] = []) {
        self.status = status
        self.text = text
        self.headers = headers
    }
}
