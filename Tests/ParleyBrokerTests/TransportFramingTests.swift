import NIOCore
import NIOEmbedded
import ParleyBroker
import ParleyCodec
import Testing

@Suite struct TransportFramingTests {
    /// A WebSocket session writes every frame (CONNECTED, RECEIPT, MESSAGE, ERROR) as one complete text message.
    @Test func webSocketSessionWritesCompleteTextMessages() async throws {
        let broker = try await makeBroker()
        let loop = EmbeddedEventLoop()
        let alice = try TestSession(broker, loop: loop, transport: .webSocket)
        let bob = try TestSession(broker, loop: loop, transport: .webSocket)
        try alice.connect("alice")
        try bob.connect("bob")
        try bob.subscribe("1", "/topic/rooms.kitchen")
        try alice.sendChat(#"{"roomId":"kitchen","content":"hello","messageType":"TALK"}"#, receipt: "r1")
        #expect(try alice.frame().command == .receipt)
        let message = try bob.frame()
        #expect(message.command == .message)
        #expect(message.body.getString(at: message.body.readerIndex, length: message.body.readableBytes)?.contains("hello") == true)
        try bob.sendRaw("BOGUS\n\n\0")
        try bob.expectError(containing: "unknown command")
    }

    /// Message ids are written as decimal digits straight into the frame: 1, 2, … 12 (more than one digit).
    @Test(arguments: [TestSession.Transport.tcp, .webSocket])
    func messageIdsCountUpInDecimal(transport: TestSession.Transport) async throws {
        let broker = try await makeBroker()
        let loop = EmbeddedEventLoop()
        let alice = try TestSession(broker, loop: loop, transport: transport)
        let bob = try TestSession(broker, loop: loop, transport: transport)
        try alice.connect("alice")
        try bob.connect("bob")
        try bob.subscribe("1", "/topic/rooms.count", ack: "client-individual")
        for index in 1...12 {
            try alice.sendChat(#"{"roomId":"count","content":"m\#(index)"}"#)
        }
        let messages = try bob.frames()
        #expect(messages.map { $0.headers["message-id"] } == (1...12).map { String($0) })
        #expect(messages.map { $0.headers["ack"] } == (1...12).map { String($0) })
    }
}
