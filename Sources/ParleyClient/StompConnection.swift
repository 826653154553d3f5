import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import ParleyCodec
import ParleyWebSocket

/// A low-level STOMP connection over TCP or WebSocket: frames and raw bytes out, decoded frames and heart-beats
/// in. No session logic: it does not send CONNECT by itself, which lets conformance tests drive any exchange,
/// malformed ones included. ``StompClient`` builds the session protocol on top of it.
public final class StompConnection: Sendable {
    /// Options for opening a connection.
    public struct Configuration: Sendable {
        /// Limits of the inbound frame decoder.
        public var limits: StompLimits
        /// Offered in `Sec-WebSocket-Protocol` (WebSocket only); empty sends no such header.
        public var webSocketSubprotocols: [String]
        /// Text or binary WebSocket messages for outgoing bytes.
        public var webSocketMessageKind: WebSocketMessageKind
        /// Extra HTTP headers on the WebSocket upgrade request (e.g. `Authorization`).
        public var webSocketHeaders: [(String, String)]
        /// Largest inbound WebSocket frame accepted.
        public var maxWebSocketFrameSize: Int
        /// Bound on the TCP connect plus, for WebSocket, the HTTP upgrade.
        public var connectTimeout: Duration
        /// Decoded elements buffered before the connection stops reading from the socket.
        public var inboundBufferHighWatermark: Int
        /// Buffer depth at which reading resumes.
        public var inboundBufferLowWatermark: Int
        /// Switch the decoder's and encoder's escaping rules to the `version` of an inbound CONNECTED frame.
        public var followNegotiatedVersion: Bool
        /// Version whose escaping rules apply until a CONNECTED frame says otherwise.
        public var initialVersion: StompVersion
        /// Event loops to run on; nil uses NIO's shared singleton group.
        public var eventLoopGroup: (any EventLoopGroup)?

        /// Creates a configuration; every parameter has a sensible default.
        public init(
            limits: StompLimits = .default,
            webSocketSubprotocols: [String] = StompVersion.webSocketSubprotocols,
            webSocketMessageKind: WebSocketMessageKind = .text,
            webSocketHeaders: [(String, String)] = [],
            maxWebSocketFrameSize: Int = 16 << 20,
            connectTimeout: Duration = .seconds(10),
            inboundBufferHighWatermark: Int = 512,
            inboundBufferLowWatermark: Int = 128,
            followNegotiatedVersion: Bool = true,
            initialVersion: StompVersion = .v1_2,
            eventLoopGroup: (any EventLoopGroup)? = nil
        ) {
            self.limits = limits
            self.webSocketSubprotocols = webSocketSubprotocols
            self.webSocketMessageKind = webSocketMessageKind
            self.webSocketHeaders = webSocketHeaders
            self.maxWebSocketFrameSize = maxWebSocketFrameSize
            self.connectTimeout = connectTimeout
            self.inboundBufferHighWatermark = inboundBufferHighWatermark
            self.inboundBufferLowWatermark = inboundBufferLowWatermark
            self.followNegotiatedVersion = followNegotiatedVersion
            self.initialVersion = initialVersion
            self.eventLoopGroup = eventLoopGroup
        }
    }

    /// Where this connection goes.
    public let endpoint: StompEndpoint
    /// The `Sec-WebSocket-Protocol` the server chose (nil over TCP or when the server chose none).
    public let negotiatedSubprotocol: String?
    /// Everything the peer sends, decoded. Single consumer; ends when the peer closes.
    public let inbound: StompInboundStream

    private let channel: any Channel
    private let outbound: OutboundBatcher
    private let versionBox: NIOLockedValueBox<StompVersion>
    private let readGate: InboundReadGate

    private init(
        endpoint: StompEndpoint,
        channel: any Channel,
        subprotocol: String?,
        inbound: StompInboundStream,
        versionBox: NIOLockedValueBox<StompVersion>,
        readGate: InboundReadGate
    ) {
        self.endpoint = endpoint
        self.channel = channel
        self.outbound = OutboundBatcher(channel: channel)
        self.negotiatedSubprotocol = subprotocol
        self.inbound = inbound
        self.versionBox = versionBox
        self.readGate = readGate
    }

    deinit {
        channel.close(promise: nil)
    }

    /// The STOMP version whose escaping rules are used for encoding and decoding.
    public var protocolVersion: StompVersion {
        versionBox.withLockedValue { $0 }
    }

    /// True until the connection is closed by either side.
    public var isActive: Bool { channel.isActive }

    /// The local socket address, e.g. to tell connections apart in logs.
    public var localAddress: SocketAddress? { channel.localAddress }

    /// Opens a TCP connection (and for `ws://` performs the WebSocket upgrade) to `endpoint`.
    public static func connect(
        to endpoint: StompEndpoint,
        configuration: Configuration = Configuration()
    ) async throws -> StompConnection {
        let group = configuration.eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        let eventLoop = group.next()
        let versionBox = NIOLockedValueBox(configuration.initialVersion)
        let gate = InboundReadGate()
        let producer = StompInboundProducer.makeSequence(
            backPressureStrategy: .init(
                lowWatermark: configuration.inboundBufferLowWatermark,
                highWatermark: configuration.inboundBufferHighWatermark
            ),
            finishOnDeinit: true,
            delegate: gate
        )
        let source = producer.source
        let makeStompHandlers: @Sendable (any Channel) throws -> Void = { channel in
            let bridge = InboundBridgeHandler(
                source: source,
                decoder: StompDecoder(version: configuration.initialVersion, limits: configuration.limits),
                versionBox: versionBox,
                followNegotiatedVersion: configuration.followNegotiatedVersion
            )
            try channel.pipeline.syncOperations.addHandler(bridge)
            gate.attach(NIOLoopBound(bridge, eventLoop: channel.eventLoop))
        }
        let timeout = TimeAmount.nanoseconds(configuration.connectTimeout.nanoseconds)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)

        switch endpoint.transport {
        case .tcp:
            let channel: any Channel
            do {
                channel = try await bootstrap
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture { try makeStompHandlers(channel) }
                    }
                    .connect(host: endpoint.host, port: endpoint.port)
                    .get()
            } catch {
                source.finish()
                throw StompConnectionError.connectFailed(endpoint: endpoint.description, reason: String(describing: error))
            }
            return StompConnection(
                endpoint: endpoint,
                channel: channel,
                subprotocol: nil,
                inbound: StompInboundStream(producer: producer.sequence),
                versionBox: versionBox,
                readGate: gate
            )

        case .webSocket(let path):
            let handshakeHandlerName = "parley.websocket-handshake"
            let handshake = eventLoop.makePromise(of: String?.self)
            let channel: any Channel
            do {
                channel = try await bootstrap
                    .channelInitializer { channel in
                        let failureHandler = WebSocketHandshakeFailureHandler(promise: handshake)
                        let upgrader = StompWebSocketClientUpgrader(
                            messageKind: configuration.webSocketMessageKind,
                            maxFrameSize: configuration.maxWebSocketFrameSize
                        ) { channel, response in
                            try makeStompHandlers(channel)
                            handshake.succeed(response.headers.first(name: "Sec-WebSocket-Protocol"))
                        }
                        return channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHTTPClientHandlers(
                                withClientUpgrade: (upgraders: [upgrader], completionHandler: { context in
                                    context.pipeline.syncOperations.removeHandler(name: handshakeHandlerName, promise: nil)
                                })
                            )
                            try channel.pipeline.syncOperations.addHandler(failureHandler, name: handshakeHandlerName)
                        }
                    }
                    .connect(host: endpoint.host, port: endpoint.port)
                    .get()
            } catch {
                source.finish()
                handshake.fail(StompConnectionError.connectionClosedDuringHandshake)
                throw StompConnectionError.connectFailed(endpoint: endpoint.description, reason: String(describing: error))
            }
            let timeoutTask = channel.eventLoop.scheduleTask(in: timeout) {
                handshake.fail(StompConnectionError.timedOut("WebSocket upgrade to \(endpoint)"))
                channel.close(promise: nil)
            }
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: "\(endpoint.host):\(endpoint.port)")
            headers.add(name: "Content-Length", value: "0")
            if !configuration.webSocketSubprotocols.isEmpty {
                headers.add(name: "Sec-WebSocket-Protocol", value: configuration.webSocketSubprotocols.joined(separator: ", "))
            }
            for (name, value) in configuration.webSocketHeaders { headers.add(name: name, value: value) }
            let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            let subprotocol: String?
            do {
                subprotocol = try await handshake.futureResult.get()
                timeoutTask.cancel()
            } catch {
                timeoutTask.cancel()
                source.finish()
                try? await channel.close()
                throw error
            }
            return StompConnection(
                endpoint: endpoint,
                channel: channel,
                subprotocol: subprotocol,
                inbound: StompInboundStream(producer: producer.sequence),
                versionBox: versionBox,
                readGate: gate
            )
        }
    }

    /// Encodes `frame` with the current version's escaping rules and writes it. Returns once the bytes are
    /// queued on the channel; when the channel's outbound buffer is over its high watermark, once they are
    /// written. Throws ``StompConnectionError/connectionClosed`` on a closed connection.
    public func send(_ frame: StompFrame) async throws {
        // Over WebSocket the frame header goes in front of the STOMP bytes: one buffer per message, not two.
        let headroom = if case .webSocket = endpoint.transport { WebSocketWire.maximumHeaderLength } else { 0 }
        var buffer = WebSocketWire.buffer(
            capacity: StompEncoder.estimatedSize(of: frame), headroom: headroom, allocator: channel.allocator)
        StompEncoder.encode(frame, version: protocolVersion, into: &buffer)
        try await write(buffer)
    }

    /// Writes a single end-of-line heart-beat.
    public func sendHeartBeat() async throws {
        var buffer = channel.allocator.buffer(capacity: 1)
        buffer.writeInteger(StompEncoder.heartBeat)
        try await write(buffer)
    }

    /// Writes `bytes` exactly as given (over WebSocket: as one message). For malformed-frame tests.
    public func sendRaw(_ bytes: some Collection<UInt8>) async throws {
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        try await write(buffer)
    }

    /// Sets the STOMP version whose escaping rules the encoder uses from now on (the decoder follows
    /// CONNECTED automatically unless configured otherwise).
    public func setProtocolVersion(_ version: StompVersion) {
        versionBox.withLockedValue { $0 = version }
    }

    /// Has MESSAGE frames offered to `router` on the event loop as they are decoded; those it consumes (returns
    /// true for) never enter ``inbound``. ``StompClient`` uses it for `onMessage` subscriptions.
    func routeMessagesInline(_ router: @escaping @Sendable (StompFrame) -> Bool) {
        readGate.installMessageRouter(router)
    }

    /// Closes the connection (over WebSocket with a close frame first); `inbound` then ends.
    public func close() async {
        try? await channel.close()
    }

    private func write(_ buffer: ByteBuffer) async throws {
        guard channel.isActive else { throw StompConnectionError.connectionClosed }
        // While the outbound buffer is below its high watermark, queue the write and return at once: a
        // continuation per frame costs more than the write itself. Above it, wait for this write to finish,
        // which is the backpressure. Writes stay in order either way (one queue); a failed write closes the channel.
        if channel.isWritable {
            outbound.enqueue(buffer, promise: nil)
            return
        }
        do {
            let written = channel.eventLoop.makePromise(of: Void.self)
            outbound.enqueue(buffer, promise: written)
            try await written.futureResult.get()
        } catch let error as ChannelError where error == .ioOnClosedChannel || error == .alreadyClosed {
            throw StompConnectionError.connectionClosed
        } catch {
            throw StompConnectionError.writeFailed(String(describing: error))
        }
    }
}

/// Failures of the transport underneath STOMP.
public enum StompConnectionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// TCP connect failed (refused, unreachable, timed out).
    case connectFailed(endpoint: String, reason: String)
    /// The server answered the WebSocket upgrade with something other than 101.
    case webSocketUpgradeRejected(status: Int, reason: String)
    /// The WebSocket handshake failed (bad accept key, protocol error).
    case webSocketHandshakeFailed(String)
    /// The peer closed during the WebSocket handshake.
    case connectionClosedDuringHandshake
    /// Writing to a connection that is already closed.
    case connectionClosed
    /// A write failed in the transport.
    case writeFailed(String)
    /// An operation did not finish in time.
    case timedOut(String)

    /// Human-readable text.
    public var description: String {
        switch self {
        case .connectFailed(let endpoint, let reason): "cannot connect to \(endpoint): \(reason)"
        case .webSocketUpgradeRejected(let status, let reason): "WebSocket upgrade rejected: HTTP \(status) \(reason)"
        case .webSocketHandshakeFailed(let reason): "WebSocket handshake failed: \(reason)"
        case .connectionClosedDuringHandshake: "connection closed during the WebSocket handshake"
        case .connectionClosed: "connection is closed"
        case .writeFailed(let reason): "write failed: \(reason)"
        case .timedOut(let what): "timed out: \(what)"
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    var milliseconds: Double {
        Double(nanoseconds) / 1_000_000
    }
}
