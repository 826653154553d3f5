import NIOCore
import NIOEmbedded
import ParleyBroker
import ParleyCodec
import Testing

@Suite struct OutboundFramingTests {
    /// Decodes one unmasked server frame: (fin+opcode byte, payload length, header length).
    func header(of buffer: ByteBuffer) -> (first: UInt8, length: Int, headerLength: Int) {
        let bytes = Array(buffer.readableBytesView)
        let short = Int(bytes[1])
        switch short {
        case 126: return (bytes[0], Int(bytes[2]) << 8 | Int(bytes[3]), 4)
        case 127: return (bytes[0], bytes[2..<10].reduce(0) { $0 << 8 | Int($1) }, 10)
        default: return (bytes[0], short, 2)
        }
    }

    @Test(arguments: [0, 1, 125, 126, 65_535, 65_536, 300_000])
    func headerCarriesFinTextAndTheLengthInItsShortestForm(length: Int) {
        var buffer = ByteBufferAllocator().buffer(capacity: length + 10)
        buffer.moveWriterIndex(to: 10)
        buffer.moveReaderIndex(to: 10)
        buffer.writeRepeatingByte(0x41, count: length)
        WebSocketServerFrame.prependHeader(opcode: WebSocketServerFrame.textOpcode, to: &buffer)
        let parsed = header(of: buffer)
        #expect(parsed.first == 0x81)
        #expect(parsed.length == length)
        #expect(parsed.headerLength == (length < 126 ? 2 : length <= 65_535 ? 4 : 10))
        #expect(buffer.readableBytes == parsed.headerLength + length)
        #expect(buffer.getBytes(at: buffer.readerIndex + parsed.headerLength, length: min(length, 3)) == Array(repeating: 0x41, count: min(length, 3)))
    }

    @Test func bufferWithoutHeadroomIsCopiedBehindTheHeader() {
        var buffer = ByteBuffer(string: "MESSAGE\n\n\0")
        WebSocketServerFrame.prependHeader(opcode: WebSocketServerFrame.textOpcode, to: &buffer)
        #expect(Array(buffer.readableBytesView) == [0x81, 10] + Array("MESSAGE\n\n\0".utf8))
    }

    @Test func controlFramesAreFinalAndUnmasked() {
        let close = WebSocketServerFrame.make(
            opcode: WebSocketServerFrame.closeOpcode, payload: ByteBuffer(bytes: [0x03, 0xF1]), allocator: ByteBufferAllocator())
        #expect(Array(close.readableBytesView) == [0x88, 2, 0x03, 0xF1])
    }

    /// A WebSocket session writes every frame (CONNECTED, RECEIPT, MESSAGE, ERROR) as one complete text message.
    @Test func webSocketSessionWritesCompleteTextMessages() async throws {
        let broker = try await makeBroker()
        let loop = EmbeddedEventLoop()
        let alice = try TestSession(broker, loop: loop, framing: .webSocketText)
        let bob = try TestSession(broker, loop: loop, framing: .webSocketText)
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
    @Test(arguments: [OutboundFraming.none, .webSocketText])
    func messageIdsCountUpInDecimal(framing: OutboundFraming) async throws {
        let broker = try await makeBroker()
        let loop = EmbeddedEventLoop()
        let alice = try TestSession(broker, loop: loop, framing: framing)
        let bob = try TestSession(broker, loop: loop, framing: framing)
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
