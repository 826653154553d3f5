import NIOCore
import ParleyCodec
import ParleyCodecJSON
import Testing

/// A deliberately naive whole-input STOMP decoder written straight from the rules in Fixtures/frames/README.md
/// (default limits only). The fast streaming decoder must agree with it on random token soup.
enum ReferenceDecoder {
    static let commands = Set(["CONNECT", "STOMP", "SEND", "SUBSCRIBE", "UNSUBSCRIBE", "ACK", "NACK", "BEGIN", "COMMIT",
                               "ABORT", "DISCONNECT", "CONNECTED", "MESSAGE", "RECEIPT", "ERROR"])

    struct Failure: Error { var kind: StompDecodingError.Kind }

    static func decode(_ bytes: [UInt8], version: StompVersion) -> StompDecodeOutcome {
        var items: [StompDecoded] = []
        var position = 0
        func line(from start: Int) -> (content: ArraySlice<UInt8>, next: Int)? {
            guard let lf = bytes[start...].firstIndex(of: 0x0A) else { return nil }
            var content = bytes[start..<lf]
            if content.last == 0x0D { content = content.dropLast() }
            return (content, lf + 1)
        }
        do {
            while position < bytes.count {
                guard let (commandLine, afterCommand) = line(from: position) else {
                    if bytes.count - position - 1 > 32 { throw Failure(kind: .commandTooLong) }
                    return StompDecodeOutcome(items: items, errorKind: nil, incomplete: true)
                }
                if commandLine.isEmpty {
                    items.append(.heartBeat)
                    position = afterCommand
                    continue
                }
                if commandLine.count > 32 { throw Failure(kind: .commandTooLong) }
                let command = String(decoding: commandLine, as: UTF8.self)
                guard commands.contains(command), commandLine.allSatisfy({ $0 < 0x80 }) else { throw Failure(kind: .unknownCommand) }
                let escapes = version != .v1_0 && command != "CONNECT" && command != "CONNECTED"
                let mayHaveBody = ["SEND", "MESSAGE", "ERROR"].contains(command)
                var headers = StompHeaders()
                var contentLength: Int?
                var cursor = afterCommand
                while true {
                    guard let (headerLine, next) = line(from: cursor) else {
                        return StompDecodeOutcome(items: items, errorKind: nil, incomplete: true)
                    }
                    cursor = next
                    if headerLine.isEmpty { break }
                    if headers.count == 64 { throw Failure(kind: .tooManyHeaders) }
                    if headerLine.contains(0x0D) || headerLine.contains(0) { throw Failure(kind: .malformedHeader) }
                    guard let colon = headerLine.firstIndex(of: 0x3A), colon > headerLine.startIndex else {
                        throw Failure(kind: .malformedHeader)
                    }
                    let name = try text(headerLine[..<colon], escapes: escapes, version: version)
                    let value = try text(headerLine[(colon + 1)...], escapes: escapes, version: version)
                    if name == "content-length" && contentLength == nil {
                        guard !value.isEmpty, value.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let number = Int(value) else {
                            throw Failure(kind: .invalidContentLength)
                        }
                        contentLength = number
                    }
                    headers.add(name, value)
                }
                let bodyStart = cursor
                let bodyEnd: Int
                if let contentLength {
                    if contentLength > 0 && !mayHaveBody { throw Failure(kind: .bodyNotAllowed) }
                    if contentLength > 1 << 20 { throw Failure(kind: .bodyTooLarge) }
                    guard bytes.count - bodyStart > contentLength else {
                        return StompDecodeOutcome(items: items, errorKind: nil, incomplete: true)
                    }
                    if bytes[bodyStart + contentLength] != 0 { throw Failure(kind: .missingNullTerminator) }
                    bodyEnd = bodyStart + contentLength
                } else {
                    guard let nul = bytes[bodyStart...].firstIndex(of: 0) else {
                        if bytes.count > bodyStart && !mayHaveBody { throw Failure(kind: .bodyNotAllowed) }
                        return StompDecodeOutcome(items: items, errorKind: nil, incomplete: true)
                    }
                    if nul > bodyStart && !mayHaveBody { throw Failure(kind: .bodyNotAllowed) }
                    bodyEnd = nul
                }
                items.append(.frame(StompFrame(
                    StompCommand(rawValue: command), headers: headers, body: ByteBuffer(bytes: bytes[bodyStart..<bodyEnd]))))
                position = bodyEnd + 1
            }
        } catch let failure as Failure {
            return StompDecodeOutcome(items: items, errorKind: failure.kind.rawValue, incomplete: false)
        } catch {
            fatalError("unexpected \(error)")
        }
        return StompDecodeOutcome(items: items, errorKind: nil, incomplete: false)
    }

    static func text(_ raw: ArraySlice<UInt8>, escapes: Bool, version: StompVersion) throws -> String {
        var bytes: [UInt8] = []
        var index = raw.startIndex
        while index < raw.endIndex {
            let byte = raw[index]
            index += 1
            guard escapes, byte == 0x5C else {
                bytes.append(byte)
                continue
            }
            guard index < raw.endIndex else { throw Failure(kind: .invalidEscape) }
            switch raw[index] {
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "c"): bytes.append(0x3A)
            case 0x5C: bytes.append(0x5C)
            case UInt8(ascii: "r") where version == .v1_2: bytes.append(0x0D)
            default: throw Failure(kind: .invalidEscape)
            }
            index += 1
        }
        guard let string = String(validating: bytes, as: UTF8.self) else { throw Failure(kind: .invalidUTF8) }
        return string
    }
}

@Suite struct ReferenceDecoderTests {
    static let tokens: [[UInt8]] = [
        "SEND", "MESSAGE", "SUBSCRIBE", "CONNECT", "CONNECTED", "ERROR", "ACK", "send", "FOO", "STOMP",
        "\n", "\n", "\n", "\n\n", "\n\n\0", "\r\n", "\r", "\0", "\0", ":", ":", "destination", "/q", "content-length:", "3", "0", "-1", "12",
        "\\c", "\\n", "\\r", "\\\\", "\\t", "\\", "x", "ab", " ", "é", "✓",
    ].map { Array($0.utf8) } + [[0xFF], [0xC3], [0x80]]

    @Test(arguments: StompVersion.allCases)
    func fastDecoderAgreesWithReference(version: StompVersion) {
        var random = SplitMix64(seed: 0xBEEF + UInt64(version.rawValue.utf8.last!))
        var frames = 0
        for iteration in 0..<3000 {
            var bytes: [UInt8] = []
            // Start from a plausible frame most of the time so the soup reaches bodies and later frames.
            if Bool.random(using: &random) { bytes += Array("SEND\ndestination:/q\n".utf8) }
            for _ in 0..<Int.random(in: 1...24, using: &random) {
                bytes += Self.tokens.randomElement(using: &random)!
            }
            let expected = ReferenceDecoder.decode(bytes, version: version)
            let actual = StompDecodeOutcome.decode(bytes, version: version, limits: .default)
            let chunked = StompDecodeOutcome.decode(bytes, version: version, limits: .default, chunkSizes: [3, 1, 7])
            frames += expected.items.count
            #expect(actual.matches(expected), "iteration \(iteration) \(bytes): fast\n\(actual)\nreference\n\(expected)")
            #expect(chunked.matches(expected), "iteration \(iteration) chunked")
        }
        #expect(frames > 400, "the random input rarely formed frames (\(frames))")
    }

    /// The hand-written fixture expectations and the naive reference agree (fixtures using default limits).
    @Test func referenceAgreesWithFixtures() throws {
        var checked = 0
        for fixture in FrameFixtures.all where fixture.expectation.limits == nil {
            let expected = fixture.expectation.expected
            let reference = ReferenceDecoder.decode(fixture.wire, version: try fixture.expectation.stompVersion())
            // The reference does not model limits, so skip the default-limit cases.
            if let kind = expected.errorKind, ["tooManyHeaders", "headerLineTooLong", "commandTooLong", "bodyTooLarge", "frameTooLarge"].contains(kind) {
                continue
            }
            #expect(reference.matches(expected), "\(fixture.name): reference\n\(reference)")
            checked += 1
        }
        #expect(checked >= 100)
    }
}
