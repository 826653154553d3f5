import NIOCore
import NIOEmbedded
import NIOWebSocket
import ParleyWebSocket
import Testing

@Suite struct WebSocketWireTests {
    /// Decodes one frame header: (fin+opcode byte, mask bit, payload length, header length without the key).
    func header(of buffer: ByteBuffer) -> (first: UInt8, masked: Bool, length: Int, headerLength: Int) {
        let bytes = Array(buffer.readableBytesView)
        let short = Int(bytes[1] & 0x7F)
        let masked = bytes[1] & 0x80 != 0
        switch short {
        case 126: return (bytes[0], masked, Int(bytes[2]) << 8 | Int(bytes[3]), 4)
        case 127: return (bytes[0], masked, bytes[2..<10].reduce(0) { $0 << 8 | Int($1) }, 10)
        default: return (bytes[0], masked, short, 2)
        }
    }

    func payload(_ length: Int) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    }

    @Test(arguments: [0, 1, 125, 126, 65_535, 65_536, 300_000])
    func headerCarriesFinTextAndTheLengthInItsShortestForm(length: Int) {
        var buffer = WebSocketWire.buffer(capacity: length, headroom: 10, allocator: ByteBufferAllocator())
        buffer.writeRepeatingByte(0x41, count: length)
        WebSocketWire.prependHeader(opcode: WebSocketWire.textOpcode, to: &buffer)
        let parsed = header(of: buffer)
        #expect(parsed.first == 0x81)
        #expect(!parsed.masked)
        #expect(parsed.length == length)
        #expect(parsed.headerLength == (length < 126 ? 2 : length <= 65_535 ? 4 : 10))
        #expect(buffer.readableBytes == parsed.headerLength + length)
        #expect(buffer.getBytes(at: buffer.readerIndex + parsed.headerLength, length: min(length, 3)) == Array(repeating: 0x41, count: min(length, 3)))
    }

    @Test func bufferWithoutHeadroomIsCopiedBehindTheHeader() {
        var buffer = ByteBuffer(string: "MESSAGE\n\n\0")
        WebSocketWire.prependHeader(opcode: WebSocketWire.textOpcode, to: &buffer)
        #expect(Array(buffer.readableBytesView) == [0x81, 10] + Array("MESSAGE\n\n\0".utf8))
    }

    @Test func controlFramesAreFinalAndUnmasked() {
        let close = WebSocketWire.make(
            opcode: WebSocketWire.closeOpcode, payload: ByteBuffer(bytes: [0x03, 0xF1]), allocator: ByteBufferAllocator())
        #expect(Array(close.readableBytesView) == [0x88, 2, 0x03, 0xF1])
    }

    /// Our masking (eight bytes at a time, any length and tail) agrees with NIO's byte-wise reference.
    @Test(arguments: [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 125, 126, 1_000, 65_537])
    func maskingMatchesNIOAndWritesTheKey(length: Int) {
        let key: UInt32 = 0x37FA_213D
        var buffer = WebSocketWire.buffer(capacity: length, headroom: WebSocketWire.maximumHeaderLength, allocator: ByteBufferAllocator())
        buffer.writeBytes(payload(length))
        WebSocketWire.prependHeader(opcode: WebSocketWire.binaryOpcode, maskingKey: key, to: &buffer)
        let parsed = header(of: buffer)
        #expect(parsed.first == 0x82)
        #expect(parsed.masked)
        #expect(parsed.length == length)
        #expect(buffer.getInteger(at: buffer.readerIndex + parsed.headerLength, as: UInt32.self) == key)
        var masked = buffer.getSlice(at: buffer.readerIndex + parsed.headerLength + 4, length: length)!
        masked.webSocketUnmask(WebSocketMaskingKey([0x37, 0xFA, 0x21, 0x3D])!)
        #expect(Array(masked.readableBytesView) == payload(length))
    }

    /// NIO's decoder reads our masked frames; our reader reads NIO's encoder's masked frames.
    @Test func framesInteroperateWithNIOsCodec() throws {
        let inbound = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20)))
        defer { _ = try? inbound.finish() }
        let ours = WebSocketWire.make(
            opcode: WebSocketWire.textOpcode, payload: ByteBuffer(string: "SEND\n\nhi\0"), maskingKey: 0x0102_0304,
            allocator: ByteBufferAllocator())
        try inbound.writeInbound(ours)
        let decoded = try #require(try inbound.readInbound(as: WebSocketFrame.self))
        #expect(decoded.fin && decoded.opcode == .text)
        #expect(decoded.maskKey == WebSocketMaskingKey([1, 2, 3, 4]))
        #expect(String(buffer: decoded.unmaskedData) == "SEND\n\nhi\0")

        let outbound = EmbeddedChannel(handler: WebSocketFrameEncoder())
        defer { _ = try? outbound.finish() }
        let text = String(repeating: "x", count: 300)
        try outbound.writeOutbound(WebSocketFrame(fin: true, opcode: .binary, maskKey: .random(), data: ByteBuffer(string: text)))
        var wire = ByteBuffer()
        while var part = try outbound.readOutbound(as: ByteBuffer.self) { wire.writeBuffer(&part) }
        let frame = try #require(try WebSocketFrameReader(maxPayload: 1 << 20, role: .server).next(from: &wire))
        #expect(frame.fin && frame.opcode == WebSocketWire.binaryOpcode)
        #expect(String(buffer: frame.payload) == text)
        #expect(wire.readableBytes == 0)
    }

    /// Frames split anywhere across reads come out whole and in order; nothing is consumed until a frame is complete.
    @Test func readerWaitsForCompleteFramesAcrossSplitReads() throws {
        var wire = ByteBuffer()
        for (index, length) in [0, 5, 125, 126, 70_000].enumerated() {
            var frame = ByteBuffer(bytes: payload(length))
            WebSocketWire.prependHeader(opcode: index == 0 ? WebSocketWire.pingOpcode : WebSocketWire.textOpcode, to: &frame)
            wire.writeBuffer(&frame)
        }
        let reader = WebSocketFrameReader(maxPayload: 100_000, role: .client)
        for chunk in [1, 7, 1_000] {
            var input = ByteBuffer()
            var source = wire
            var lengths: [Int] = []
            while source.readableBytes > 0 || input.readableBytes > 0 {
                if var piece = source.readSlice(length: min(chunk, source.readableBytes)) { input.writeBuffer(&piece) }
                let before = input.readerIndex
                if let frame = try reader.next(from: &input) {
                    lengths.append(frame.payload.readableBytes)
                    #expect(Array(frame.payload.readableBytesView) == payload(frame.payload.readableBytes))
                } else {
                    #expect(input.readerIndex == before)
                    if source.readableBytes == 0 { break }
                }
            }
            #expect(lengths == [0, 5, 125, 126, 70_000], "chunk \(chunk)")
        }
    }

    /// The stream keeps an unfinished frame between reads and stops where its caller says the connection ends.
    @Test func streamCarriesPartialFramesAndStopsOnRequest() throws {
        var wire = ByteBuffer()
        for text in ["one", "two", "three"] {
            var frame = ByteBuffer(string: text)
            WebSocketWire.prependHeader(opcode: WebSocketWire.textOpcode, to: &frame)
            wire.writeBuffer(&frame)
        }
        var stream = WebSocketFrameStream(reader: WebSocketFrameReader(maxPayload: 100, role: .client))
        var seen: [String] = []
        try stream.consume(wire.getSlice(at: 0, length: 7)!) { seen.append(String(buffer: $0.payload)); return true }
        #expect(seen == ["one"])
        try stream.consume(wire.getSlice(at: 7, length: wire.readableBytes - 7)!) { frame in
            seen.append(String(buffer: frame.payload))
            return false  // e.g. a close frame: nothing after it is read
        }
        #expect(seen == ["one", "two"])
    }

    /// A frame over the limit is refused from its header alone; protocol violations are named.
    @Test func readerRefusesBadFrames() throws {
        func read(_ bytes: [UInt8], role: WebSocketFrameReader.Role = .client, limit: Int = 1_000) -> WebSocketWireError? {
            var buffer = ByteBuffer(bytes: bytes)
            do {
                _ = try WebSocketFrameReader(maxPayload: limit, role: role).next(from: &buffer)
                return nil
            } catch {
                return error
            }
        }
        #expect(read([0x81, 126, 0x03, 0xE9]) == .payloadTooLarge(length: 1_001, limit: 1_000))
        #expect(read([0x82, 127, 0, 0, 0, 0, 0x10, 0, 0, 0]) == .payloadTooLarge(length: 1 << 28, limit: 1_000))
        #expect(read([0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 0])?.description.contains("top bit") == true)
        #expect(read([0xC1, 0])?.description.contains("reserved bits") == true)
        #expect(read([0x83, 0])?.description.contains("reserved opcode 3") == true)
        #expect(read([0x09, 0])?.description.contains("fragmented control frame") == true)
        #expect(read([0x89, 126, 0, 126])?.description.contains("control frame payload") == true)
        #expect(read([0x81, 0x80, 1, 2, 3, 4])?.description.contains("server frame masked") == true)
        #expect(read([0x81, 0x00], role: .server)?.description.contains("client frame not masked") == true)
        #expect(read([0x81, 0x05, 0x41]) == nil)  // incomplete, not an error
    }

    /// A masked frame's payload is unmasked into its own buffer, leaving earlier slices of the input intact.
    @Test func maskedPayloadsAreUnmaskedWithoutTouchingEarlierSlices() throws {
        var wire = ByteBuffer()
        for text in ["first", "second"] {
            var frame = WebSocketWire.make(opcode: WebSocketWire.textOpcode, payload: ByteBuffer(string: text), maskingKey: 0xA1B2_C3D4, allocator: ByteBufferAllocator())
            wire.writeBuffer(&frame)
        }
        let reader = WebSocketFrameReader(maxPayload: 100, role: .server)
        let first = try #require(try reader.next(from: &wire))
        let second = try #require(try reader.next(from: &wire))
        #expect(String(buffer: first.payload) == "first")
        #expect(String(buffer: second.payload) == "second")
    }
}
