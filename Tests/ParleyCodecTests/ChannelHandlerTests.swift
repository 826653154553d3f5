import NIOCore
import NIOEmbedded
import ParleyCodec
import XCTest

/// The pipeline handlers, driven through EmbeddedChannel as in swift-nio's own codec tests.
final class ChannelHandlerTests: XCTestCase {
    func testDecoderHandlerEmitsFramesAcrossReads() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(StompFrameDecoder()))
        defer { _ = try? channel.finish() }
        let wire = "\nSEND\ndestination:/q\ncontent-length:3\n\na\0c\0MESSAGE\nx:1\n\nhi\0"
        for byte in wire.utf8 {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        XCTAssertEqual(try channel.readInbound(as: StompDecoded.self), .heartBeat)
        var body = ByteBuffer(string: "a")
        body.writeBytes([0, UInt8(ascii: "c")])
        XCTAssertEqual(
            try channel.readInbound(as: StompDecoded.self),
            .frame(StompFrame(.send, headers: ["destination": "/q", "content-length": "3"], body: body)))
        XCTAssertEqual(
            try channel.readInbound(as: StompDecoded.self), .frame(StompFrame(.message, headers: ["x": "1"], body: "hi")))
        XCTAssertNil(try channel.readInbound(as: StompDecoded.self))
    }

    func testDecoderHandlerSurfacesTypedError() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(StompFrameDecoder(limits: StompLimits(maxBodySize: 4))))
        defer { _ = try? channel.finish() }
        XCTAssertThrowsError(try channel.writeInbound(ByteBuffer(string: "SEND\ncontent-length:5\n\n"))) { error in
            XCTAssertEqual((error as? StompDecodingError)?.kind, .bodyTooLarge)
        }
    }

    func testEndlessInputIsRejectedOnceItExceedsTheFrameLimit() throws {
        // A peer that never ends its frame must be cut off as soon as it has sent more than maxFrameSize bytes.
        for start in ["SEND\n\n", "SEND\nx:", "SEND\ncontent-length:999999\n\n"] {
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(StompFrameDecoder(limits: StompLimits(maxFrameSize: 1000))))
            defer { _ = try? channel.finish() }
            var sent = 0
            var failure: (any Error)?
            var chunk = ByteBuffer(string: start)
            while failure == nil && sent < 100_000 {
                sent += chunk.readableBytes
                do {
                    try channel.writeInbound(chunk)
                } catch {
                    failure = error
                }
                chunk = ByteBuffer(repeating: UInt8(ascii: "y"), count: 100)
            }
            XCTAssertEqual((failure as? StompDecodingError)?.kind, .frameTooLarge, start)
            XCTAssertLessThanOrEqual(sent, 1100, "\(start): accepted \(sent) bytes before failing")
        }
    }

    func testDecoderVersionCanChangeAfterNegotiation() throws {
        let decoder = StompFrameDecoder(version: .v1_0)
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(decoder))
        defer { _ = try? channel.finish() }
        try channel.writeInbound(ByteBuffer(string: "MESSAGE\nx:a\\nb\n\n\0"))
        XCTAssertEqual(try channel.readInbound(as: StompDecoded.self), .frame(StompFrame(.message, headers: ["x": "a\\nb"])))
        decoder.version = .v1_2
        try channel.writeInbound(ByteBuffer(string: "MESSAGE\nx:a\\nb\n\n\0"))
        XCTAssertEqual(try channel.readInbound(as: StompDecoded.self), .frame(StompFrame(.message, headers: ["x": "a\nb"])))
    }

    func testLeftoverPartialFrameIsReportedAtClose() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(StompFrameDecoder()))
        try channel.writeInbound(ByteBuffer(string: "SEND\ndestination:/q\n\nunfinished"))
        XCTAssertThrowsError(try channel.finish()) { error in
            guard case .leftoverDataWhenDone(let leftover) = error as? ByteToMessageDecoderError else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertEqual(String(buffer: leftover), "unfinished")
        }
    }

    func testCleanCloseBetweenFramesIsNotAnError() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(StompFrameDecoder()))
        try channel.writeInbound(ByteBuffer(string: "SEND\n\nx\0\n"))
        XCTAssertNotNil(try channel.readInbound(as: StompDecoded.self))
        XCTAssertEqual(try channel.readInbound(as: StompDecoded.self), .heartBeat)
        XCTAssertNoThrow(try channel.finish())
    }

    func testFrameEncoderWritesWireBytes() throws {
        let channel = EmbeddedChannel(handler: MessageToByteHandler(StompFrameEncoder(version: .v1_2)))
        defer { _ = try? channel.finish() }
        try channel.writeOutbound(StompFrame(.message, headers: ["destination": "/user/queue/messages", "x": "a:b"], body: "{}"))
        let written = try XCTUnwrap(channel.readOutbound(as: ByteBuffer.self))
        XCTAssertEqual(String(buffer: written), "MESSAGE\ndestination:/user/queue/messages\nx:a\\cb\ncontent-length:2\n\n{}\0")
    }

    func testDecodedEncoderWritesHeartBeats() throws {
        let channel = EmbeddedChannel(handler: MessageToByteHandler(StompDecodedEncoder()))
        defer { _ = try? channel.finish() }
        try channel.writeOutbound(StompDecoded.heartBeat)
        try channel.writeOutbound(StompDecoded.frame(StompFrame(.receipt, headers: ["receipt-id": "1"])))
        XCTAssertEqual(try channel.readOutbound(as: ByteBuffer.self), ByteBuffer(string: "\n"))
        XCTAssertEqual(String(buffer: try XCTUnwrap(channel.readOutbound(as: ByteBuffer.self))), "RECEIPT\nreceipt-id:1\n\n\0")
    }

    func testEncoderAndDecoderPipelinesRoundTrip() throws {
        let client = EmbeddedChannel(handler: MessageToByteHandler(StompFrameEncoder()))
        let server = EmbeddedChannel(handler: ByteToMessageHandler(StompFrameDecoder()))
        defer {
            _ = try? client.finish()
            _ = try? server.finish()
        }
        let frames = (0..<50).map { StompFrame(.send, headers: ["destination": "/q/\($0)", "n": "\($0)\n"], body: String(repeating: "x", count: $0)) }
        var wire = ByteBuffer()
        for frame in frames {
            try client.writeOutbound(frame)
            var chunk = try XCTUnwrap(client.readOutbound(as: ByteBuffer.self))
            wire.writeBuffer(&chunk)
        }
        while wire.readableBytes > 0 {
            try server.writeInbound(wire.readSlice(length: min(7, wire.readableBytes))!)
        }
        for frame in frames {
            var expected = frame
            if frame.body.readableBytes > 0 { expected.headers.add("content-length", "\(frame.body.readableBytes)") }
            XCTAssertEqual(try server.readInbound(as: StompDecoded.self), .frame(expected))
        }
    }
}
