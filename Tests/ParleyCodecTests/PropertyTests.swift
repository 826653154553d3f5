import NIOCore
import ParleyCodec
import ParleyCodecJSON
import Testing

@Suite struct FixtureStreamingTests {
    @Test(arguments: FrameFixtures.all)
    func byteByByteMatchesWhole(_ fixture: LoadedFixture) throws {
        let whole = try fixture.decode()
        let trickled = try fixture.decode(chunkSizes: [1])
        #expect(trickled.matches(whole), "\(fixture.name).stomp byte by byte:\n\(trickled)\nwhole:\n\(whole)")
        #expect(whole.matches(fixture.expectation.expected), "\(fixture.name).stomp")
    }

    @Test(arguments: FrameFixtures.all)
    func randomChunksMatchWhole(_ fixture: LoadedFixture) throws {
        let whole = try fixture.decode()
        var random = SplitMix64(seed: UInt64(truncatingIfNeeded: fixture.name.utf8.reduce(5381) { $0 &* 33 &+ Int($1) }))
        for _ in 0..<8 {
            let sizes = (0..<16).map { _ in Int.random(in: 1...max(1, fixture.wire.count / 3 + 1), using: &random) }
            let chunked = try fixture.decode(chunkSizes: sizes)
            #expect(chunked.matches(whole), "\(fixture.name).stomp in chunks \(sizes):\n\(chunked)\nwhole:\n\(whole)")
        }
    }

    @Test func fixturesWereFound() {
        #expect(FrameFixtures.all.count >= 80)
    }
}

@Suite struct RoundTripPropertyTests {
    /// Characters that stress escaping, plus multi-byte UTF-8.
    static let interesting: [Character] = [":", "\n", "\r", "\\", " ", "\t", "c", "n", "r", "a", "Z", "0", "é", "✓", "😀", "/", "-", ","]

    static func randomText(
        length: ClosedRange<Int>, excluding: Set<Character>, using random: inout SplitMix64
    ) -> String {
        let alphabet = interesting.filter { !excluding.contains($0) }
        return String((0..<Int.random(in: length, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
    }

    static func randomFrame(version: StompVersion, using random: inout SplitMix64) -> StompFrame {
        let command = StompCommand.allKnown.randomElement(using: &random)!
        // What cannot be represented: no escaping in 1.0 and CONNECT/CONNECTED, no CR escape in 1.1.
        var forbiddenInValue: Set<Character> = []
        if version == .v1_0 || !command.escapesHeaders { forbiddenInValue = ["\n", "\r"] }
        if version == .v1_1 { forbiddenInValue.insert("\r") }
        var forbiddenInName = forbiddenInValue
        if version == .v1_0 || !command.escapesHeaders { forbiddenInName.insert(":") }
        var headers = StompHeaders()
        for _ in 0..<Int.random(in: 0...8, using: &random) {
            headers.add(
                "h" + randomText(length: 0...6, excluding: forbiddenInName, using: &random),
                randomText(length: 0...12, excluding: forbiddenInValue, using: &random))
        }
        var body = ByteBuffer()
        if command.allowsBody {
            let bytes = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            body.writeBytes(bytes)
        }
        return StompFrame(command, headers: headers, body: body)
    }

    /// The frame as the decoder returns it: the encoder appended content-length for a non-empty body.
    static func expectedAfterRoundTrip(_ frame: StompFrame) -> StompFrame {
        var expected = frame
        if frame.body.readableBytes > 0 { expected.headers.add("content-length", String(frame.body.readableBytes)) }
        return expected
    }

    @Test(arguments: StompVersion.allCases)
    func randomFramesRoundTrip(version: StompVersion) throws {
        var random = SplitMix64(seed: 0xC0DEC + UInt64(version.rawValue.utf8.last!))
        for _ in 0..<400 {
            let frame = Self.randomFrame(version: version, using: &random)
            var wire = StompEncoder.encode(frame, version: version)
            var decoder = StompDecoder(version: version)
            let decoded = try decoder.next(from: &wire)
            #expect(decoded == .frame(Self.expectedAfterRoundTrip(frame)), "\(version.rawValue) \(frame)")
            #expect(wire.readableBytes == 0)
        }
    }

    @Test(arguments: StompVersion.allCases)
    func randomStreamsInRandomChunksRoundTrip(version: StompVersion) throws {
        var random = SplitMix64(seed: 0x5EED + UInt64(version.rawValue.utf8.last!))
        for _ in 0..<40 {
            var expected: [StompDecoded] = []
            var wire = ByteBuffer()
            for _ in 0..<Int.random(in: 1...12, using: &random) {
                if Bool.random(using: &random) && Int.random(in: 0...3, using: &random) == 0 {
                    wire.writeString(Bool.random(using: &random) ? "\n" : "\r\n")
                    expected.append(.heartBeat)
                } else {
                    let frame = Self.randomFrame(version: version, using: &random)
                    StompEncoder.encode(frame, version: version, into: &wire)
                    expected.append(.frame(Self.expectedAfterRoundTrip(frame)))
                }
            }
            let bytes = Array(wire.readableBytesView)
            let sizes = (0..<10).map { _ in Int.random(in: 1...64, using: &random) }
            let outcome = StompDecodeOutcome.decode(bytes, version: version, limits: .default, chunkSizes: sizes)
            #expect(outcome.items == expected)
            #expect(outcome.errorKind == nil)
            #expect(!outcome.incomplete)
        }
    }

    @Test func escapingMatchesTheSpecBytes() {
        let frame = StompFrame(.send, headers: ["a:b": "x\r\n\\:y"])
        let v12 = String(buffer: StompEncoder.encode(frame, version: .v1_2))
        #expect(v12 == "SEND\na\\cb:x\\r\\n\\\\\\cy\n\n\0")
        let v11 = String(buffer: StompEncoder.encode(frame, version: .v1_1))
        #expect(v11 == "SEND\na\\cb:x\r\\n\\\\\\cy\n\n\0")
        let v10 = String(buffer: StompEncoder.encode(frame, version: .v1_0))
        #expect(v10 == "SEND\na:b:x\r\n\\:y\n\n\0")
        let connect = StompFrame(.connect, headers: ["passcode": "a:b\\c"])
        #expect(String(buffer: StompEncoder.encode(connect)) == "CONNECT\npasscode:a:b\\c\n\n\0")
    }

    @Test func encoderAddsContentLengthOnlyWhenNeeded() {
        let withBody = StompFrame(.send, headers: ["destination": "/q"], body: "hi")
        #expect(String(buffer: StompEncoder.encode(withBody)) == "SEND\ndestination:/q\ncontent-length:2\n\nhi\0")
        let explicit = StompFrame(.send, headers: ["content-length": "2"], body: "hi")
        #expect(String(buffer: StompEncoder.encode(explicit)) == "SEND\ncontent-length:2\n\nhi\0")
        let empty = StompFrame(.subscribe, headers: ["id": "0"])
        #expect(String(buffer: StompEncoder.encode(empty)) == "SUBSCRIBE\nid:0\n\n\0")
    }
}

@Suite struct ChunkingIndependenceFuzzTests {
    /// Random, often corrupted streams under small random limits: whole, byte-by-byte and random chunks must agree
    /// on every item, the error kind and incompleteness. This is what makes limits "enforced while streaming"
    /// without the outcome depending on the socket's read sizes.
    @Test(arguments: StompVersion.allCases)
    func outcomeDoesNotDependOnChunking(version: StompVersion) {
        var random = SplitMix64(seed: 0xF022 + UInt64(version.rawValue.utf8.last!))
        let noise: [UInt8] = [0x00, 0x0A, 0x0D, 0x3A, 0x5C, 0x63, 0x6E, 0x72, 0x74, 0x41, 0xFF, 0x80, 0x30, 0x2D]
        var kindsSeen: Set<String> = []
        for iteration in 0..<500 {
            var wire = ByteBuffer()
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                if Int.random(in: 0...4, using: &random) == 0 { wire.writeString("\r\n") }
                var frame = RoundTripPropertyTests.randomFrame(version: version, using: &random)
                if Bool.random(using: &random), frame.body.readableBytes > 0 {
                    // Drop the content-length so the body must end at the first NUL.
                    let bytes = frame.body.readableBytesView.filter { $0 != 0 }
                    frame.body = ByteBuffer(bytes: bytes)
                    var raw = ByteBuffer()
                    StompEncoder.encode(frame, version: version, into: &raw)
                    let text = Array(raw.readableBytesView)
                    wire.writeBytes(Self.removingContentLength(text))
                } else {
                    StompEncoder.encode(frame, version: version, into: &wire)
                }
            }
            var bytes = Array(wire.readableBytesView)
            for _ in 0..<Int.random(in: 0...2, using: &random) where !bytes.isEmpty {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                let byte = noise.randomElement(using: &random)!
                if Bool.random(using: &random) { bytes[position] = byte } else { bytes.insert(byte, at: position) }
            }
            if Int.random(in: 0...3, using: &random) == 0 { bytes.removeLast(Int.random(in: 0...min(10, bytes.count), using: &random)) }
            let limits = StompLimits(
                maxFrameSize: Int.random(in: 16...600, using: &random),
                maxBodySize: Int.random(in: 0...300, using: &random),
                maxHeaderCount: Int.random(in: 0...9, using: &random),
                maxHeaderLineLength: Int.random(in: 4...60, using: &random),
                maxCommandLength: Int.random(in: 2...12, using: &random))
            let whole = StompDecodeOutcome.decode(bytes, version: version, limits: limits)
            let trickled = StompDecodeOutcome.decode(bytes, version: version, limits: limits, chunkSizes: [1])
            let sizes = (0..<6).map { _ in Int.random(in: 1...40, using: &random) }
            let chunked = StompDecodeOutcome.decode(bytes, version: version, limits: limits, chunkSizes: sizes)
            #expect(trickled.matches(whole), "iteration \(iteration) \(limits): byte-by-byte\n\(trickled)\nwhole\n\(whole)")
            #expect(chunked.matches(whole), "iteration \(iteration) \(limits) chunks \(sizes):\n\(chunked)\nwhole\n\(whole)")
            if let kind = whole.errorKind { kindsSeen.insert(kind) }
        }
        // The streams must actually exercise the limits and syntax errors, or the property says nothing.
        #expect(kindsSeen.count >= 8, "only saw \(kindsSeen.sorted())")
    }

    static func removingContentLength(_ wire: [UInt8]) -> [UInt8] {
        let marker = Array("\ncontent-length:".utf8)
        guard let start = (0...(wire.count - marker.count)).first(where: { Array(wire[$0..<($0 + marker.count)]) == marker }),
              let end = wire[(start + 1)...].firstIndex(of: 0x0A)
        else { return wire }
        return Array(wire[..<start] + wire[end...])
    }

    @Test func hugeLimitsDoNotOverflow() throws {
        let unlimited = StompLimits(
            maxFrameSize: .max, maxBodySize: .max, maxHeaderCount: .max, maxHeaderLineLength: .max, maxCommandLength: .max)
        for wire in ["SEND\ncontent-length:9223372036854775000\n\n", "SEND\n\nabc", "SEND\nx:abc", "SEN"] {
            let outcome = StompDecodeOutcome.decode(Array(wire.utf8), version: .v1_2, limits: unlimited, chunkSizes: [1])
            #expect(outcome.errorKind == nil && outcome.incomplete, "\(wire)")
        }
        let zero = StompLimits(maxFrameSize: 0, maxBodySize: 0, maxHeaderCount: 0, maxHeaderLineLength: 0, maxCommandLength: 0)
        #expect(StompDecodeOutcome.decode(Array("SEND\n\n\0".utf8), version: .v1_2, limits: zero).errorKind == "commandTooLong")
        #expect(StompDecodeOutcome.decode(Array("\n".utf8), version: .v1_2, limits: zero).items == [.heartBeat])
    }
}
