import NIOCore
import NIOEmbedded
import ParleyBroker
import ParleyChat
import ParleyCodec
import ParleyRelay
import ParleyWebSocket
import Testing

/// Tokens the test authenticator knows: `token-<user>` authenticates `<user>`; a few fixed ones fail.
let testAuthenticator = ClosureAuthenticator { token in
    switch token {
    case "expired": throw StompAuthenticationError("access token expired")
    case "refresh-token": throw StompAuthenticationError("a refresh token cannot be used to connect")
    case "explode": throw CancellationError()
    default:
        guard token.hasPrefix("token-") else { throw StompAuthenticationError("invalid access token signature") }
        return StompPrincipal(id: String(token.dropFirst("token-".count)))
    }
}

/// The broker configuration of these tests: defaults, except that clients may SEND to (non-room) topics, which
/// several tests use as a plain publish/subscribe channel.
let testConfiguration = BrokerConfiguration(allowClientTopicSends: true)

func makeBroker(
    _ configuration: BrokerConfiguration = testConfiguration, relay: any ChatRelay = InProcessRelay()
) async throws -> StompBroker {
    let chat = ChatApplication(relay: relay)
    let broker = StompBroker(configuration: configuration, authenticator: testAuthenticator, applications: [chat])
    try await relay.start(deliveringTo: chat.sink(for: broker))
    return broker
}

/// One client connection on an EmbeddedChannel: writes frames in, decodes what the session writes out.
final class TestSession {
    let channel: EmbeddedChannel
    let loop: EmbeddedEventLoop
    var decoder = StompDecoder(version: .v1_2)
    var version = StompVersion.v1_2

    let transport: Transport
    private var maskingKeys = MaskingKeySource()

    /// How the test client reaches the session: raw STOMP bytes, or masked WebSocket text messages through the
    /// server's `WebSocketStreamHandler` (which frames what the session writes in the room it reserved).
    enum Transport { case tcp, webSocket }

    init(
        _ broker: StompBroker, loop: EmbeddedEventLoop, maxVersion: StompVersion = .v1_2, transport: Transport = .tcp,
        extraHandlers: [any ChannelHandler] = []
    ) throws {
        self.loop = loop
        self.transport = transport
        channel = EmbeddedChannel(loop: loop)
        try channel.pipeline.syncOperations.addHandlers(extraHandlers)
        if transport == .webSocket {
            try channel.pipeline.syncOperations.addHandler(WebSocketStreamHandler(role: .server, maxFrameSize: 1 << 20) { _ in nil })
            try channel.pipeline.syncOperations.addHandler(
                broker.makeSessionHandler(maxVersion: maxVersion, headroom: WebSocketWire.maximumUnmaskedHeaderLength))
        } else {
            try channel.pipeline.syncOperations.addHandler(broker.makeSessionHandler(maxVersion: maxVersion))
        }
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    }

    func send(_ frame: StompFrame) throws {
        try sendBytes(StompEncoder.encode(frame, version: version))
    }

    func send(_ command: StompCommand, _ headers: [(String, String)], body: String = "") throws {
        try send(StompFrame(command, headers: StompHeaders(headers), body: body))
    }

    func sendBytes(_ buffer: ByteBuffer) throws {
        guard channel.isActive else { return }
        if transport == .webSocket {
            try channel.writeInbound(
                WebSocketWire.make(opcode: WebSocketWire.textOpcode, payload: buffer, maskingKey: maskingKeys.next32(), allocator: channel.allocator))
        } else {
            try channel.writeInbound(buffer)
        }
        loop.run()
    }

    func sendRaw(_ text: String) throws { try sendBytes(ByteBuffer(string: text)) }

    /// Everything written so far, decoded; heart-beats come back as `nil`.
    func received() throws -> [StompDecoded] {
        loop.run()
        var out: [StompDecoded] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            var bytes = buffer
            if transport == .webSocket, !unwrapWebSocketMessage(&bytes) { continue }
            while let decoded = try decoder.next(from: &bytes) { out.append(decoded) }
        }
        return out
    }

    /// Checks that `bytes` is exactly one final, unmasked text message and leaves its payload; `false` for the
    /// close frame that follows an ERROR.
    private func unwrapWebSocketMessage(_ bytes: inout ByteBuffer) -> Bool {
        let first = bytes.readInteger(as: UInt8.self)
        if first == 0x88 { return false }
        #expect(first == 0x81, "FIN + text")
        let short = bytes.readInteger(as: UInt8.self) ?? 0
        var length = Int(short)
        if short == 126 {
            length = Int(bytes.readInteger(as: UInt16.self) ?? 0)
        } else if short == 127 {
            length = Int(bytes.readInteger(as: UInt64.self) ?? 0)
        }
        #expect(short < 128, "unmasked")
        #expect(bytes.readableBytes == length, "one STOMP frame per WebSocket message")
        return true
    }

    func frames() throws -> [StompFrame] {
        try received().compactMap { if case .frame(let frame) = $0 { frame } else { nil } }
    }

    func frame(_ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> StompFrame {
        let all = try frames()
        try #require(all.count == 1, "expected one frame, got \(all.map(\.command)) \(comment?.description ?? "")", sourceLocation: sourceLocation)
        return all[0]
    }

    @discardableResult
    func connect(
        _ user: String, acceptVersion: String = "1.2", heartBeat: String = "0,0",
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> StompFrame {
        try send(.connect, [("accept-version", acceptVersion), ("host", "/"), ("Authorization", "Bearer token-\(user)"), ("heart-beat", heartBeat)])
        let connected = try frame(sourceLocation: sourceLocation)
        #expect(connected.command == .connected, "\(connected.headers["message"] ?? "")", sourceLocation: sourceLocation)
        if let negotiated = connected.headers["version"].flatMap(StompVersion.init(rawValue:)) {
            version = negotiated
            decoder.version = negotiated
        }
        return connected
    }

    func subscribe(_ id: String, _ destination: String, ack: String = "auto") throws {
        try send(.subscribe, [("id", id), ("destination", destination), ("ack", ack), ("receipt", "sub-\(id)")])
        let receipt = try frame()
        #expect(receipt.command == .receipt && receipt.headers["receipt-id"] == "sub-\(id)", "\(receipt.headers["message"] ?? "")")
    }

    func sendChat(_ json: String, receipt: String? = nil) throws {
        var headers = [("destination", "/app/chat.sendMessage"), ("content-type", "application/json")]
        if let receipt { headers.append(("receipt", receipt)) }
        try send(.send, headers, body: json)
    }

    var isClosed: Bool { !channel.isActive }

    /// Asserts the session answered with one ERROR whose message contains `text`, then closed.
    func expectError(containing text: String, receiptId: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let error = try frame(sourceLocation: sourceLocation)
        #expect(error.command == .error, sourceLocation: sourceLocation)
        let message = error.headers["message"] ?? ""
        #expect(message.contains(text), "message was '\(message)'", sourceLocation: sourceLocation)
        #expect(error.headers["receipt-id"] == receiptId, sourceLocation: sourceLocation)
        #expect(isClosed, "session should close after ERROR", sourceLocation: sourceLocation)
    }
}

/// A relay whose publishes complete only when the test says so; it shows when RECEIPT and ERROR happen.
final class ManualRelay: ChatRelay, @unchecked Sendable {
    private(set) var sink: (any ChatEventSink)?
    private(set) var pending: [(ChatEvent, @Sendable (Result<Void, any Error>) -> Void)] = []

    func start(deliveringTo sink: any ChatEventSink) async throws { self.sink = sink }
    func publish(_ event: ChatEvent, completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        pending.append((event, completion))
    }
    func shutdown() async {}

    func completeNext(with error: (any Error)? = nil) {
        let (event, completion) = pending.removeFirst()
        if let error {
            completion(.failure(error))
        } else {
            sink?.deliver(event)
            completion(.success(()))
        }
    }
}

/// Holds every write unflushed-to-the-socket, as a client that stopped reading would.
final class StalledSocket: ChannelOutboundHandler, @unchecked Sendable {
    typealias OutboundIn = ByteBuffer
    private(set) var held: [ByteBuffer] = []
    private var promises: [EventLoopPromise<Void>] = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        held.append(unwrapOutboundIn(data))
        if let promise { promises.append(promise) }
    }

    func flush(context: ChannelHandlerContext) {}

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        for promise in promises { promise.fail(ChannelError.ioOnClosedChannel) }
        promises = []
        context.close(mode: mode, promise: promise)
    }

    func decodedFrames() throws -> [StompFrame] {
        var decoder = StompDecoder()
        var out: [StompFrame] = []
        for buffer in held {
            var bytes = buffer
            while let decoded = try decoder.next(from: &bytes) { if case .frame(let frame) = decoded { out.append(frame) } }
        }
        return out
    }
}

func chatJSON(room: String = "r1", to receiver: String? = nil, content: String = "hi", sender: String? = nil) -> String {
    var fields = [#""roomId":"\#(room)""#, #""content":"\#(content)""#, #""messageType":"TALK""#]
    if let receiver { fields.append(#""receiverId":"\#(receiver)""#) }
    if let sender { fields.append(#""senderId":"\#(sender)""#) }
    return "{" + fields.joined(separator: ",") + "}"
}
