import NIOCore
import NIOEmbedded
import ParleyWebSocket
import Testing

/// The Autobahn|Testsuite categories that apply to a byte-stream endpoint, run against `WebSocketStreamHandler` on
/// both sides of a connection (a server reads masked frames, a client unmasked ones, both are held to the same
/// rules): framing, ping/pong, reserved bits and opcodes, fragmentation, close handling. UTF-8 validation of text
/// messages (Autobahn 6.x) is deliberately not done: STOMP frames go in text messages whatever their bodies hold.
@Suite struct WebSocketConformanceTests {
    /// What one side did with the frames it was given.
    struct Outcome {
        /// The stream bytes handed to the handlers behind.
        var delivered: [UInt8] = []
        /// The frames it wrote back (pongs, close).
        var sent: [(opcode: UInt8, payload: [UInt8])] = []
        /// Whether it closed the connection.
        var closed = false

        /// The code of the close frame it sent, if any (nil for a close frame without a code).
        var closeCode: UInt16? {
            guard let close = sent.last(where: { $0.opcode == WebSocketWire.closeOpcode }), close.payload.count >= 2 else { return nil }
            return UInt16(close.payload[0]) << 8 | UInt16(close.payload[1])
        }
        /// Whether it failed the connection with `code`: a close frame with that code, then the connection closed.
        func failed(with code: UInt16) -> Bool { closed && closeCode == code }
    }

    static let roles: [WebSocketFrameReader.Role] = [.server, .client]

    /// One frame as the peer of `role` writes it: masked towards a server, unmasked towards a client.
    static func frame(
        _ opcode: UInt8, _ payload: [UInt8] = [], fin: Bool = true, rsv: UInt8 = 0, to role: WebSocketFrameReader.Role
    ) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | rsv << 4 | opcode]
        let maskBit: UInt8 = role == .server ? 0x80 : 0
        if payload.count < 126 {
            bytes.append(maskBit | UInt8(payload.count))
        } else {
            bytes.append(maskBit | 126)
            bytes += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        }
        guard role == .server else { return bytes + payload }
        let key: [UInt8] = [0x5A, 0xC3, 0x01, 0x7E]
        return bytes + key + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
    }

    static func text(_ string: String, fin: Bool = true, to role: WebSocketFrameReader.Role) -> [UInt8] {
        frame(WebSocketWire.textOpcode, Array(string.utf8), fin: fin, to: role)
    }

    static func continuation(_ string: String, fin: Bool = true, to role: WebSocketFrameReader.Role) -> [UInt8] {
        frame(WebSocketWire.continuationOpcode, Array(string.utf8), fin: fin, to: role)
    }

    static func close(code: UInt16?, reason: [UInt8] = [], to role: WebSocketFrameReader.Role) -> [UInt8] {
        frame(WebSocketWire.closeOpcode, (code.map { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } ?? []) + reason, to: role)
    }

    /// Feeds `frames` (one read each) to a fresh handler on `role`'s side and reports what it did.
    func run(_ role: WebSocketFrameReader.Role, _ frames: [[UInt8]]) throws -> Outcome {
        let channel = EmbeddedChannel(handler: WebSocketStreamHandler(role: role, maxFrameSize: 1 << 16) { _ in nil })
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        for frame in frames where channel.isActive {
            try channel.writeInbound(ByteBuffer(bytes: frame))
        }
        channel.embeddedEventLoop.run()
        var outcome = Outcome(closed: !channel.isActive)
        while let buffer = try channel.readInbound(as: ByteBuffer.self) { outcome.delivered += buffer.readableBytesView }
        // What this side wrote is read back as its peer would read it.
        var written = ByteBuffer()
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) { written.writeBuffer(&buffer) }
        let peer = WebSocketFrameReader(maxPayload: 1 << 16, role: role == .server ? .client : .server)
        while let frame = try peer.next(from: &written) { outcome.sent.append((frame.opcode, Array(frame.payload.readableBytesView))) }
        // Not `finish()`: it waits for the close, which the handler completes on the loop's next tick.
        channel.close(promise: nil)
        channel.embeddedEventLoop.run()
        return outcome
    }

    // MARK: framing (Autobahn 1.x)

    @Test(arguments: roles, [0, 125, 126, 65_535])
    func textAndBinaryMessagesOfEveryLengthFormArriveWhole(role: WebSocketFrameReader.Role, length: Int) throws {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let outcome = try run(
            role, [Self.frame(WebSocketWire.textOpcode, payload, to: role), Self.frame(WebSocketWire.binaryOpcode, payload, to: role)])
        #expect(outcome.delivered == payload + payload)
        #expect(!outcome.closed && outcome.sent.isEmpty)
    }

    // MARK: ping and pong (2.x)

    @Test(arguments: roles)
    func everyPingIsAnsweredWithItsPayloadAndPongsAreIgnored(role: WebSocketFrameReader.Role) throws {
        let largest = [UInt8](repeating: 0xFE, count: 125)
        let outcome = try run(
            role,
            [
                Self.frame(WebSocketWire.pingOpcode, to: role), Self.frame(WebSocketWire.pingOpcode, [0, 0xFF, 0x80], to: role),
                Self.frame(WebSocketWire.pingOpcode, largest, to: role), Self.frame(WebSocketWire.pongOpcode, Array("unsolicited".utf8), to: role),
            ])
        #expect(outcome.sent.map(\.opcode) == [WebSocketWire.pongOpcode, WebSocketWire.pongOpcode, WebSocketWire.pongOpcode])
        #expect(outcome.sent.map(\.payload) == [[], [0, 0xFF, 0x80], largest])
        #expect(!outcome.closed)
    }

    @Test(arguments: roles)
    func oversizedOrFragmentedControlFramesFailTheConnection(role: WebSocketFrameReader.Role) throws {
        let tooLong = [UInt8](repeating: 1, count: 126)
        for frames in [
            [Self.frame(WebSocketWire.pingOpcode, tooLong, to: role)],
            [Self.frame(WebSocketWire.pingOpcode, [1], fin: false, to: role), Self.continuation("", to: role)],
            [Self.frame(WebSocketWire.pongOpcode, [1], fin: false, to: role)],
            [Self.frame(WebSocketWire.closeOpcode, [0x03, 0xE8] + tooLong, to: role)],
        ] {
            let outcome = try run(role, frames)
            #expect(outcome.failed(with: 1002), "\(frames)")
            #expect(!outcome.sent.contains { $0.opcode == WebSocketWire.pongOpcode })
        }
    }

    // MARK: reserved bits and opcodes (3.x, 4.x)

    @Test(arguments: roles, [1, 2, 3, 4, 5, 6, 7] as [UInt8])
    func reservedBitsFailTheConnectionAfterWhatCameBefore(role: WebSocketFrameReader.Role, rsv: UInt8) throws {
        let outcome = try run(
            role,
            [Self.text("before", to: role), Self.frame(WebSocketWire.textOpcode, Array("x".utf8), rsv: rsv, to: role), Self.text("after", to: role)])
        #expect(outcome.delivered == Array("before".utf8))
        #expect(outcome.failed(with: 1002))
    }

    @Test(arguments: roles, [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] as [UInt8])
    func reservedOpcodesFailTheConnection(role: WebSocketFrameReader.Role, opcode: UInt8) throws {
        let outcome = try run(role, [Self.text("before", to: role), Self.frame(opcode, [1, 2], to: role), Self.frame(WebSocketWire.pingOpcode, to: role)])
        #expect(outcome.delivered == Array("before".utf8))
        #expect(outcome.failed(with: 1002))
        #expect(!outcome.sent.contains { $0.opcode == WebSocketWire.pongOpcode })
    }

    // MARK: fragmentation (5.x)

    @Test(arguments: roles)
    func fragmentsArriveInOrderWithControlFramesBetweenThem(role: WebSocketFrameReader.Role) throws {
        let outcome = try run(
            role,
            [
                Self.text("frag", fin: false, to: role), Self.frame(WebSocketWire.pingOpcode, [7], to: role),
                Self.continuation("", fin: false, to: role), Self.frame(WebSocketWire.pongOpcode, to: role),
                Self.continuation("ment", to: role), Self.frame(WebSocketWire.binaryOpcode, [0x21], fin: false, to: role),
                Self.continuation("!", to: role), Self.text("next", to: role),
            ])
        #expect(outcome.delivered == Array("fragment!!next".utf8))
        #expect(outcome.sent.map(\.opcode) == [WebSocketWire.pongOpcode])
        #expect(!outcome.closed)
    }

    /// Autobahn 5.9–5.20: a continuation frame with nothing to continue, FIN or not, alone or after a finished
    /// message; and a new message started inside an unfinished one.
    @Test(arguments: roles)
    func continuationWithoutAStartOrANewMessageInsideAnUnfinishedOneFailsWith1002(role: WebSocketFrameReader.Role) throws {
        let cases: [(String, [[UInt8]], String)] = [
            ("continuation (FIN) first", [Self.continuation("x", to: role)], ""),
            ("continuation (no FIN) first", [Self.continuation("x", fin: false, to: role), Self.text("y", to: role)], ""),
            ("continuation after a finished message", [Self.text("done", to: role), Self.continuation("x", to: role)], "done"),
            (
                "continuation after a finished fragmented message",
                [Self.text("a", fin: false, to: role), Self.continuation("b", to: role), Self.continuation("c", to: role)], "ab"
            ),
            ("text inside an unfinished text message", [Self.text("a", fin: false, to: role), Self.text("b", to: role)], "a"),
            (
                "binary inside an unfinished text message",
                [Self.text("a", fin: false, to: role), Self.frame(WebSocketWire.binaryOpcode, [0x62], to: role)], "a"
            ),
            (
                "text (no FIN) inside an unfinished binary message",
                [Self.frame(WebSocketWire.binaryOpcode, [0x61], fin: false, to: role), Self.text("b", fin: false, to: role)], "a"
            ),
        ]
        for (name, frames, delivered) in cases {
            let outcome = try run(role, frames)
            #expect(outcome.failed(with: 1002), "\(role) \(name): closed \(outcome.closed), code \(String(describing: outcome.closeCode))")
            #expect(outcome.delivered == Array(delivered.utf8), "\(role) \(name)")
        }
    }

    /// A violation in the middle of one socket read stops that read: what follows it is not delivered.
    @Test(arguments: roles)
    func framesAfterAViolationInTheSameReadAreDropped(role: WebSocketFrameReader.Role) throws {
        let outcome = try run(role, [Self.text("a", to: role) + Self.continuation("b", to: role) + Self.text("c", to: role)])
        #expect(outcome.delivered == Array("a".utf8))
        #expect(outcome.failed(with: 1002))
    }

    // MARK: UTF-8 (6.x): not checked in data messages

    @Test(arguments: roles)
    func textMessagesAreNotCheckedForUTF8(role: WebSocketFrameReader.Role) throws {
        let invalid: [UInt8] = [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64]
        let outcome = try run(role, [Self.frame(WebSocketWire.textOpcode, invalid, to: role)])
        #expect(outcome.delivered == invalid)
        #expect(!outcome.closed)
    }

    // MARK: close handling (7.x)

    @Test(arguments: roles)
    func closeIsAnsweredAndNothingAfterItIsRead(role: WebSocketFrameReader.Role) throws {
        let outcome = try run(
            role,
            [Self.text("before", to: role), Self.close(code: nil, to: role), Self.text("after", to: role), Self.frame(WebSocketWire.pingOpcode, to: role)])
        #expect(outcome.delivered == Array("before".utf8))
        #expect(outcome.sent.map(\.opcode) == [WebSocketWire.closeOpcode])
        #expect(outcome.failed(with: 1000))
    }

    @Test(arguments: roles, [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] as [UInt16])
    func validCloseCodesAreEchoed(role: WebSocketFrameReader.Role, code: UInt16) throws {
        let reason = Array(String(repeating: "é", count: 61).utf8) + [0x21]  // 123 bytes: the longest reason
        let outcome = try run(role, [Self.close(code: code, reason: reason, to: role)])
        #expect(outcome.failed(with: code))
    }

    @Test(arguments: roles, [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65_535] as [UInt16])
    func invalidCloseCodesFailWith1002(role: WebSocketFrameReader.Role, code: UInt16) throws {
        let outcome = try run(role, [Self.close(code: code, to: role)])
        #expect(outcome.failed(with: 1002))
    }

    @Test(arguments: roles)
    func aOneBytePayloadOrAReasonThatIsNotUTF8FailsTheClose(role: WebSocketFrameReader.Role) throws {
        #expect(try run(role, [Self.frame(WebSocketWire.closeOpcode, [0x03], to: role)]).failed(with: 1002))
        #expect(try run(role, [Self.close(code: 1000, reason: [0x61, 0xED, 0xA0, 0x80], to: role)]).failed(with: 1007))
    }
}
