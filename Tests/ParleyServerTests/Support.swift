import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ParleyClient
import ParleyCodec
import ParleyRelay
import Testing

/// Runs `body` with a deadline so a broken server fails the test instead of hanging it.
func withTimeout<T: Sendable>(
    _ seconds: Double = 10, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw TimeoutError(seconds: seconds)
        }
        return value
    }
}

struct TimeoutError: Error, CustomStringConvertible {
    var seconds: Double
    var description: String { "timed out after \(seconds) s" }
}

extension StompSubscription {
    /// The next MESSAGE, or a failure after `seconds`.
    func next(within seconds: Double = 5) async throws -> StompFrame {
        let subscription = self
        return try await withTimeout(seconds) {
            var iterator = subscription.makeAsyncIterator()
            guard let frame = try await iterator.next() else { throw StompClientError.connectionClosed }
            return frame
        }
    }
}

func decodeEvent(_ frame: StompFrame) throws -> ChatEvent {
    try ChatEvent.decode(json: Array(frame.body.readableBytesView))
}

func chatJSON(room: String = "r1", to receiver: String? = nil, content: String = "hi", sender: String? = nil) -> String {
    var fields = [#""roomId":"\#(room)""#, #""content":"\#(content)""#, #""messageType":"TALK""#]
    if let receiver { fields.append(#""receiverId":"\#(receiver)""#) }
    if let sender { fields.append(#""senderId":"\#(sender)""#) }
    return "{" + fields.joined(separator: ",") + "}"
}

extension StompClient {
    func sendChat(_ json: String, receipt: Bool = true) async throws {
        try await send(
            destination: "/app/chat.sendMessage", body: json, headers: ["content-type": "application/json"],
            receipt: receipt)
    }
}

/// A plain TCP connection that records every byte received; for HTTP and raw WebSocket checks.
final class RawConnection: Sendable {
    private let channel: any Channel
    private let collector: Collector

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes = NIOLockedValueBox<[UInt8]>([])
        let closed = NIOLockedValueBox(false)
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            bytes.withLockedValue { $0.append(contentsOf: buffer.readableBytesView) }
        }
        func channelInactive(context: ChannelHandlerContext) {
            closed.withLockedValue { $0 = true }
        }
    }

    static func connect(port: Int, autoRead: Bool = true) async throws -> RawConnection {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: autoRead)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func send(_ text: String) async throws { try await send(Array(text.utf8)) }

    var received: [UInt8] { collector.bytes.withLockedValue { $0 } }
    var text: String { String(decoding: received, as: UTF8.self) }
    var isClosed: Bool { collector.closed.withLockedValue { $0 } }

    /// Waits (polling the recorded state) until `condition` holds, failing after `seconds`.
    func wait(
        _ seconds: Double = 5, for what: String, until condition: @escaping @Sendable (RawConnection) -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !condition(self) {
            if ContinuousClock.now > deadline {
                throw TimeoutError(seconds: seconds)
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    func close() async { try? await channel.close() }
}

/// Builds a masked client WebSocket frame.
func maskedWebSocketFrame(opcode: UInt8, payload: [UInt8], fin: Bool = true) -> [UInt8] {
    var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
    let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
    if payload.count < 126 {
        frame.append(0x80 | UInt8(payload.count))
    } else {
        frame.append(0x80 | 126)
        frame.append(UInt8(payload.count >> 8))
        frame.append(UInt8(payload.count & 0xFF))
    }
    frame.append(contentsOf: mask)
    for (index, byte) in payload.enumerated() { frame.append(byte ^ mask[index % 4]) }
    return frame
}

func upgradeRequest(path: String = "/ws/chat", protocols: String? = "v12.stomp", key: String? = "dGhlIHNhbXBsZSBub25jZQ==") -> String {
    var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
    if let key { request += "Sec-WebSocket-Key: \(key)\r\n" }
    if let protocols { request += "Sec-WebSocket-Protocol: \(protocols)\r\n" }
    return request + "\r\n"
}
