import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import ParleyCodec

/// A tiny STOMP server for client tests, on real loopback sockets (TCP or WebSocket at `/stomp`).
///
/// It echoes SEND frames as MESSAGE to subscribers of the same destination on the same connection, answers
/// every `receipt` header, and has a few switches to misbehave on purpose. Every inbound element is recorded.
final class EchoStompServer: Sendable {
    struct Behaviour: Sendable {
        /// `version` header of CONNECTED.
        var version = "1.2"
        /// `heart-beat` header of CONNECTED (the server never actually sends heart-beats).
        var heartBeat = "0,0"
        /// Frames with a receipt to this destination get no RECEIPT.
        var silentDestination = "/no-receipt"
    }

    let port: Int
    let isWebSocket: Bool
    private let channel: any Channel
    private let log: NIOLockedValueBox<[StompDecoded]>
    private let control: NIOLockedValueBox<[String]>

    /// WebSocket control frames clients sent: `pong:<payload>`, `close:<code>`.
    var webSocketControl: [String] { control.withLockedValue { $0 } }

    /// Everything clients sent, in order.
    var received: [StompDecoded] { log.withLockedValue { $0 } }
    var receivedFrames: [StompFrame] {
        received.compactMap { if case .frame(let frame) = $0 { frame } else { nil } }
    }
    var heartBeatCount: Int { received.filter { $0 == .heartBeat }.count }

    var url: String { isWebSocket ? "ws://127.0.0.1:\(port)/stomp" : "tcp://127.0.0.1:\(port)" }

    private init(channel: any Channel, isWebSocket: Bool, log: NIOLockedValueBox<[StompDecoded]>, control: NIOLockedValueBox<[String]>) {
        self.channel = channel
        self.control = control
        self.port = channel.localAddress?.port ?? 0
        self.isWebSocket = isWebSocket
        self.log = log
    }

    static func start(webSocket: Bool = false, behaviour: Behaviour = Behaviour()) async throws -> EchoStompServer {
        let log = NIOLockedValueBox<[StompDecoded]>([])
        let control = NIOLockedValueBox<[String]>([])
        let addSession: @Sendable (any Channel) throws -> Void = { channel in
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(StompFrameDecoder()))
            try channel.pipeline.syncOperations.addHandler(EchoSessionHandler(behaviour: behaviour, log: log))
        }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard webSocket else { return try addSession(channel) }
                    let upgrader = NIOWebSocketServerUpgrader(
                        shouldUpgrade: { channel, head in
                            guard head.uri == "/stomp" else { return channel.eventLoop.makeSucceededFuture(nil) }
                            var headers = HTTPHeaders()
                            let offered = head.headers[canonicalForm: "sec-websocket-protocol"].map(String.init)
                            if let chosen = ["v12.stomp", "v11.stomp", "v10.stomp"].first(where: offered.contains) {
                                headers.add(name: "Sec-WebSocket-Protocol", value: chosen)
                            }
                            return channel.eventLoop.makeSucceededFuture(headers)
                        },
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                // The 404 fallback sits in front of the WebSocket handlers: take it out first.
                                channel.pipeline.syncOperations.removeHandler(name: "not-found", promise: nil)
                                try channel.pipeline.syncOperations.addHandler(ServerWebSocketBridge(control: control))
                                try addSession(channel)
                            }
                        }
                    )
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in })
                    )
                    try channel.pipeline.syncOperations.addHandler(NotFoundHandler(), name: "not-found")
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return EchoStompServer(channel: channel, isWebSocket: webSocket, log: log, control: control)
    }

    func stop() async {
        try? await channel.close()
    }
}

/// The session logic of the echo server.
private final class EchoSessionHandler: ChannelInboundHandler {
    typealias InboundIn = StompDecoded
    typealias OutboundOut = ByteBuffer

    private let behaviour: EchoStompServer.Behaviour
    private let log: NIOLockedValueBox<[StompDecoded]>
    private var subscriptions: [(id: String, destination: String, ack: String)] = []
    private var messageCounter = 0

    init(behaviour: EchoStompServer.Behaviour, log: NIOLockedValueBox<[StompDecoded]>) {
        self.behaviour = behaviour
        self.log = log
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let decoded = unwrapInboundIn(data)
        log.withLockedValue { $0.append(decoded) }
        guard case .frame(let frame) = decoded else { return }
        let destination = frame.headers["destination"] ?? ""
        switch frame.command {
        case .connect, .stomp:
            if frame.headers["passcode"] == "bad" {
                write(context, StompFrame(.error, headers: ["message": "bad credentials"], body: "login failed"))
                context.close(promise: nil)
                return
            }
            write(context, StompFrame(.connected, headers: [
                "version": behaviour.version, "heart-beat": behaviour.heartBeat, "session": "echo-1", "server": "echo/1",
            ]))
        case .subscribe:
            subscriptions.append((frame.headers["id"] ?? "", destination, frame.headers["ack"] ?? "auto"))
        case .unsubscribe:
            subscriptions.removeAll { $0.id == frame.headers["id"] }
        case .send where destination == "/error":
            write(context, StompFrame(.error, headers: ["message": "you asked for it"]))
            context.close(promise: nil)
            return
        case .send where destination == "/truncated":
            // Half a MESSAGE, then the connection closes: the client must report the cut, not drop it silently.
            var bytes = context.channel.allocator.buffer(capacity: 64)
            bytes.writeString("MESSAGE\ndestination:/d\nsubscription:s1\n\nhal")
            context.writeAndFlush(wrapOutboundOut(bytes)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            return
        case .send where destination == "/garbage":
            var bytes = context.channel.allocator.buffer(capacity: 64)
            bytes.writeString(String(repeating: "X", count: 60) + "\n\n\0")
            context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
            return
        case .send where destination.hasPrefix("/drip/"):
            // "/drip/N": N numbered messages to subscribers of "/drip", one every 50 ms, timed by the server's own
            // event loop (so a busy test process cannot stall the traffic the way a test task's loop could).
            drip(context, count: Int(destination.dropFirst("/drip/".count)) ?? 0, index: 0)
        case .send where destination.hasPrefix("/burst/"):
            // "/burst/N": N numbered messages to subscribers of "/burst".
            let count = Int(destination.dropFirst("/burst/".count)) ?? 0
            for index in 0..<count { deliver(context, to: "/burst", body: "\(index)", headers: [:], flush: false) }
            context.flush()
        case .send:
            var extra = frame.headers
            extra["destination"] = nil
            extra["receipt"] = nil
            extra["content-length"] = nil
            deliver(context, to: destination, body: frame.bodyString, headers: extra, flush: true)
        case .disconnect:
            if let receipt = frame.headers["receipt"] {
                write(context, StompFrame(.receipt, headers: ["receipt-id": receipt]))
            }
            context.close(promise: nil)
            return
        default:
            break
        }
        if let receipt = frame.headers["receipt"], destination != behaviour.silentDestination {
            write(context, StompFrame(.receipt, headers: ["receipt-id": receipt]))
        }
    }

    private func drip(_ context: ChannelHandlerContext, count: Int, index: Int) {
        guard index < count else { return }
        context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(50)) {
            guard context.channel.isActive else { return }
            self.deliver(context, to: "/drip", body: "\(index)", headers: [:], flush: true)
            self.drip(context, count: count, index: index + 1)
        }
    }

    private func deliver(_ context: ChannelHandlerContext, to destination: String, body: String, headers: StompHeaders, flush: Bool) {
        for subscription in subscriptions where subscription.destination == destination {
            messageCounter += 1
            var message = StompFrame(.message, headers: headers, body: body)
            message.headers["destination"] = destination
            message.headers["subscription"] = subscription.id
            message.headers["message-id"] = "m-\(messageCounter)"
            if subscription.ack != "auto" { message.headers["ack"] = "a-\(messageCounter)" }
            let bytes = StompEncoder.encode(message)
            if flush { context.writeAndFlush(wrapOutboundOut(bytes), promise: nil) } else { context.write(wrapOutboundOut(bytes), promise: nil) }
        }
    }

    private func write(_ context: ChannelHandlerContext, _ frame: StompFrame) {
        context.writeAndFlush(wrapOutboundOut(StompEncoder.encode(frame)), promise: nil)
    }
}

/// Server side of STOMP over WebSocket for the echo server: unmasked text frames out, payload bytes in.
/// A SEND to `/ws-ping`, `/ws-masked` or `/ws-oversize` makes it send a ping, a masked (forbidden) frame or a
/// 2,000-byte message; pongs and close codes from the client are recorded.
private final class ServerWebSocketBridge: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = WebSocketFrame

    private let control: NIOLockedValueBox<[String]>

    init(control: NIOLockedValueBox<[String]>) {
        self.control = control
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary, .continuation:
            let text = String(buffer: frame.unmaskedData)
            if text.contains("destination:/ws-ping") {
                context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: "p-1"))), promise: nil)
            } else if text.contains("destination:/ws-masked") {
                let masked = WebSocketFrame(fin: true, opcode: .text, maskKey: [1, 2, 3, 4], data: ByteBuffer(string: "MESSAGE\n\n\0"))
                context.writeAndFlush(wrapOutboundOut(masked), promise: nil)
            } else if text.contains("destination:/ws-oversize") {
                let big = WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(repeating: 0x41, count: 2_000))
                context.writeAndFlush(wrapOutboundOut(big), promise: nil)
            }
            context.fireChannelRead(wrapInboundOut(frame.unmaskedData))
        case .pong:
            let payload = String(buffer: frame.unmaskedData)
            control.withLockedValue { $0.append("pong:\(payload)") }
        case .connectionClose:
            var payload = frame.unmaskedData
            let code = payload.readInteger(as: UInt16.self).map(String.init) ?? "none"
            control.withLockedValue { $0.append("close:\(code)") }
            context.close(promise: nil)
        default: break
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: unwrapOutboundIn(data))), promise: promise)
    }
}

/// Answers any request that was not upgraded with 404.
private final class NotFoundHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        let head = HTTPResponseHead(version: .http1_1, status: .notFound, headers: ["Content-Length": "0", "Connection": "close"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
