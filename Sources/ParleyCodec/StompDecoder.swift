import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Streaming STOMP decoder: feed it whatever bytes arrived, take out frames and heart-beats.
///
/// It consumes complete lines as soon as they are parsed and remembers how far it has already scanned the
/// unfinished rest, so a frame that trickles in byte by byte is still scanned once. Every limit is checked as soon
/// as the bytes seen prove it is exceeded, so it never holds more than the limits allow. After it throws, the
/// stream position is lost: every later call throws the same error, and the connection must be closed.
public struct StompDecoder: Sendable {
    /// Header escaping rules; set after CONNECT/CONNECTED negotiation.
    public var version: StompVersion
    /// Bounds enforced while decoding.
    public var limits: StompLimits

    private enum Phase: Sendable {
        case commandLine
        case headerLines
        case body
    }

    private var phase: Phase = .commandLine
    /// Bytes after the reader index already known to hold no delimiter (LF in the head, NUL in a body).
    private var scanned = 0
    /// Bytes of the current frame consumed so far (command and header lines).
    private var frameBytes = 0
    private var command: StompCommand = .send
    private var fields: [StompHeaders.Field] = []
    private var contentLength: Int?
    /// Reused for unescaping, so escaped headers do not allocate per line.
    private var scratch: [UInt8] = []
    /// The first error; the stream position is lost after it, so every later call repeats it.
    private var failure: StompDecodingError?

    /// Whether part of a frame (its command line or more) has been consumed but the frame is not complete yet.
    /// At the end of a stream this means the peer stopped mid-frame.
    public var isInsideFrame: Bool {
        phase != .commandLine
    }

    /// A decoder for `version` (default 1.2) with `limits`.
    public init(version: StompVersion = .v1_2, limits: StompLimits = .default) {
        self.version = version
        self.limits = limits
    }

    /// Decodes the next frame or heart-beat, consuming its bytes from `buffer`; `nil` means more bytes are needed
    /// (bytes of an unfinished frame may already have been consumed and are remembered).
    public mutating func next(from buffer: inout ByteBuffer) throws(StompDecodingError) -> StompDecoded? {
        if let failure { throw failure }
        do {
            return try step(from: &buffer)
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func step(from buffer: inout ByteBuffer) throws(StompDecodingError) -> StompDecoded? {
        if phase != .body {
            let outcome = buffer.withUnsafeReadableBytes { self.parseHead($0) }
            switch outcome {
            case .needMore(let consumed):
                buffer.moveReaderIndex(forwardBy: consumed)
                return nil
            case .heartBeat(let consumed):
                buffer.moveReaderIndex(forwardBy: consumed)
                return .heartBeat
            case .headComplete(let consumed):
                buffer.moveReaderIndex(forwardBy: consumed)
            case .failed(let error):
                throw error
            }
        }
        return try readBody(from: &buffer)
    }

    // MARK: - Head (command and header lines)

    private enum HeadOutcome {
        case needMore(consumed: Int)
        case heartBeat(consumed: Int)
        case headComplete(consumed: Int)
        case failed(StompDecodingError)
    }

    private static let lf: UInt8 = 0x0A
    private static let cr: UInt8 = 0x0D
    private static let colon: UInt8 = 0x3A
    private static let backslash: UInt8 = 0x5C

    private mutating func parseHead(_ bytes: UnsafeRawBufferPointer) -> HeadOutcome {
        var lineStart = 0
        let end = bytes.count
        while true {
            guard let lf = Self.firstIndex(of: Self.lf, in: bytes, from: lineStart + scanned) else {
                scanned = end - lineStart
                if let error = checkPartialLine(length: scanned) { return .failed(error) }
                return .needMore(consumed: lineStart)
            }
            scanned = 0
            // The bytes before the LF were (or could have been) seen as an unfinished line by a streaming read, so
            // check them the same way first: the outcome must not depend on how the bytes were chunked.
            if let error = checkPartialLine(length: lf - lineStart) { return .failed(error) }
            var lineEnd = lf
            if lineEnd > lineStart && bytes[lineEnd - 1] == Self.cr { lineEnd -= 1 }
            let lineLength = lineEnd - lineStart
            let consumedLength = lf + 1 - lineStart
            let line = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<lineEnd])

            switch phase {
            case .commandLine:
                if lineLength == 0 { return .heartBeat(consumed: lf + 1) }
                if lineLength > limits.maxCommandLength {
                    return .failed(.init(.commandTooLong, "command line of \(lineLength) bytes exceeds \(limits.maxCommandLength)"))
                }
                guard let known = StompCommand.known(line) else {
                    return .failed(.init(.unknownCommand, "unknown command (commands are case-sensitive)"))
                }
                command = known
                frameBytes = consumedLength
                if frameBytes > limits.maxFrameSize { return .failed(frameTooLarge()) }
                phase = .headerLines
            case .headerLines:
                frameBytes += consumedLength
                if frameBytes > limits.maxFrameSize { return .failed(frameTooLarge()) }
                if lineLength == 0 {
                    if let error = headComplete() { return .failed(error) }
                    return .headComplete(consumed: lf + 1)
                }
                if lineLength > limits.maxHeaderLineLength {
                    return .failed(.init(.headerLineTooLong, "header line of \(lineLength) bytes exceeds \(limits.maxHeaderLineLength)"))
                }
                if fields.count >= limits.maxHeaderCount {
                    return .failed(.init(.tooManyHeaders, "more than \(limits.maxHeaderCount) headers"))
                }
                if let error = parseHeader(line) { return .failed(error) }
            case .body:
                preconditionFailure("parseHead is never called in the body phase")
            }
            lineStart = lf + 1
        }
    }

    /// Rejects an unfinished line as soon as its length alone breaks a limit. When several limits are broken, the
    /// one a byte-by-byte reader would have hit first wins, so every chunking reports the same error.
    /// Comparisons are written as subtractions so that limits of `Int.max` cannot overflow.
    private func checkPartialLine(length: Int) -> StompDecodingError? {
        switch phase {
        case .commandLine:
            // One extra byte may be the CR of a CRLF.
            if length - 1 > limits.maxCommandLength {
                return .init(.commandTooLong, "command line exceeds \(limits.maxCommandLength) bytes")
            }
        case .headerLines:
            let allowedByFrame = limits.maxFrameSize - frameBytes
            let frameExceeded = length > allowedByFrame
            let lineExceeded = length - 1 > limits.maxHeaderLineLength
            if frameExceeded && (!lineExceeded || allowedByFrame - 1 <= limits.maxHeaderLineLength) {
                return frameTooLarge()
            }
            if lineExceeded {
                return .init(.headerLineTooLong, "header line exceeds \(limits.maxHeaderLineLength) bytes")
            }
        case .body:
            break
        }
        return nil
    }

    private func frameTooLarge() -> StompDecodingError {
        .init(.frameTooLarge, "frame exceeds \(limits.maxFrameSize) bytes")
    }

    /// Parses `name:value` (split at the first colon; the value is never trimmed) and appends it.
    private mutating func parseHeader(_ line: UnsafeRawBufferPointer) -> StompDecodingError? {
        // Branch-free summary of the line (the compiler vectorises it); most lines need none of the slow paths.
        var summary: UInt8 = 0
        for byte in line {
            summary |= (byte & 0x80) | (byte == Self.backslash ? 1 : 0) | (byte == Self.cr ? 2 : 0) | (byte == 0 ? 4 : 0)
        }
        if summary & 2 != 0 {
            return .init(.malformedHeader, "bare carriage return in a header line")
        }
        if summary & 4 != 0 {
            // The grammar would allow it, but a NUL in a header almost always means a frame that lost its blank line
            // and swallowed the next frame; rejecting it turns silent corruption into an error.
            return .init(.malformedHeader, "NUL in a header line (missing blank line before the body?)")
        }
        let hasBackslash = summary & 1 != 0
        let hasNonASCII = summary & 0x80 != 0
        let colonIndex = Self.firstIndex(of: Self.colon, in: line, from: 0) ?? -1
        guard colonIndex > 0 else {
            return .init(.malformedHeader, colonIndex < 0 ? "header line without ':'" : "header with an empty name")
        }
        let rawName = UnsafeRawBufferPointer(rebasing: line[..<colonIndex])
        let rawValue = UnsafeRawBufferPointer(rebasing: line[(colonIndex + 1)...])
        let unescape = hasBackslash && version != .v1_0 && command.escapesHeaders
        let name: String
        let value: String
        do {
            name = try makeString(rawName, unescape: unescape, validate: hasNonASCII)
            value = try makeString(rawValue, unescape: unescape, validate: hasNonASCII)
        } catch {
            return error
        }
        if contentLength == nil && name == "content-length" {
            guard let length = Self.parseContentLength(value) else {
                return .init(.invalidContentLength, "content-length is not a non-negative decimal integer")
            }
            contentLength = length
        }
        // One allocation covers typical frames instead of growing 1, 2, 4, 8.
        if fields.capacity == 0 { fields.reserveCapacity(8) }
        fields.append(StompHeaders.Field(name: name, value: value))
        return nil
    }

    private mutating func makeString(
        _ raw: UnsafeRawBufferPointer, unescape: Bool, validate: Bool
    ) throws(StompDecodingError) -> String {
        guard unescape, raw.contains(Self.backslash) else {
            return try Self.string(raw, validate: validate)
        }
        scratch.removeAll(keepingCapacity: true)
        var index = 0
        while index < raw.count {
            let byte = raw[index]
            index += 1
            guard byte == Self.backslash else {
                scratch.append(byte)
                continue
            }
            guard index < raw.count else {
                throw StompDecodingError(.invalidEscape, "header ends with a lone backslash")
            }
            guard let unescaped = StompHeaderEscaping.unescapedByte(forLetter: raw[index], version: version) else {
                throw StompDecodingError(.invalidEscape, "undefined escape sequence in a header for STOMP \(version.rawValue)")
            }
            index += 1
            scratch.append(unescaped)
        }
        let string = scratch.withUnsafeBytes { Self.optionalString($0, validate: validate) }
        guard let string else { throw Self.invalidUTF8 }
        return string
    }

    @inline(__always)
    private static func string(_ raw: UnsafeRawBufferPointer, validate: Bool) throws(StompDecodingError) -> String {
        guard let string = optionalString(raw, validate: validate) else { throw invalidUTF8 }
        return string
    }

    /// The string, or nil when validation is asked for and fails. Pure ASCII (validate == false) is valid UTF-8.
    @inline(__always)
    private static func optionalString(_ raw: UnsafeRawBufferPointer, validate: Bool) -> String? {
        let bytes = raw.bindMemory(to: UInt8.self)
        return validate ? String(validating: bytes, as: UTF8.self) : String(decoding: bytes, as: UTF8.self)
    }

    private static let invalidUTF8 = StompDecodingError(.invalidUTF8, "header is not valid UTF-8")

    /// Decimal digits only: no sign, no spaces, no overflow.
    static func parseContentLength(_ text: String) -> Int? {
        var value = 0
        var digits = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            value = sum
            digits += 1
        }
        return digits == 0 ? nil : value
    }

    /// Checks what the headers alone already decide about the body.
    private mutating func headComplete() -> StompDecodingError? {
        phase = .body
        scanned = 0
        guard let length = contentLength else { return nil }
        if length > 0 && !command.allowsBody {
            return .init(.bodyNotAllowed, "\(command) frames must not have a body")
        }
        if length > limits.maxBodySize {
            return .init(.bodyTooLarge, "body of \(length) bytes exceeds \(limits.maxBodySize)")
        }
        if length > limits.maxFrameSize - frameBytes - 1 { return frameTooLarge() }
        return nil
    }

    // MARK: - Body

    private mutating func readBody(from buffer: inout ByteBuffer) throws(StompDecodingError) -> StompDecoded? {
        let bodyLength: Int
        if let length = contentLength {
            guard buffer.readableBytes > length else { return nil }
            guard buffer.getInteger(at: buffer.readerIndex + length, as: UInt8.self) == 0 else {
                throw StompDecodingError(.missingNullTerminator, "no NUL after the \(length)-byte body given by content-length")
            }
            bodyLength = length
        } else {
            let found = buffer.withUnsafeReadableBytes { Self.firstIndex(of: 0, in: $0, from: scanned) }
            guard let nul = found else {
                let available = buffer.readableBytes
                scanned = available
                if available > 0 && !command.allowsBody {
                    throw StompDecodingError(.bodyNotAllowed, "\(command) frames must not have a body")
                }
                try checkBodySoFar(available)
                return nil
            }
            if nul > 0 && !command.allowsBody {
                throw StompDecodingError(.bodyNotAllowed, "\(command) frames must not have a body")
            }
            try checkBodySoFar(nul)
            bodyLength = nul
        }
        let body = bodyLength == 0 ? ByteBuffer() : buffer.readSlice(length: bodyLength)!
        buffer.moveReaderIndex(forwardBy: 1)
        let frame = StompFrame(command, headers: StompHeaders(fields: fields), body: body)
        fields = []
        contentLength = nil
        scanned = 0
        frameBytes = 0
        phase = .commandLine
        return .frame(frame)
    }

    /// Checks a NUL-terminated body of at least `bodyBytes` bytes. When both limits are broken, the one a
    /// byte-by-byte reader would have hit first wins (ties: body), so every chunking reports the same error.
    private func checkBodySoFar(_ bodyBytes: Int) throws(StompDecodingError) {
        // The NUL still to come makes the frame one byte longer.
        let allowedByFrame = limits.maxFrameSize - frameBytes - 1
        let frameExceeded = bodyBytes > allowedByFrame
        let bodyExceeded = bodyBytes > limits.maxBodySize
        if bodyExceeded && (!frameExceeded || limits.maxBodySize <= allowedByFrame) {
            throw StompDecodingError(.bodyTooLarge, "body exceeds \(limits.maxBodySize) bytes")
        }
        if frameExceeded { throw frameTooLarge() }
    }

    // MARK: - Scanning

    /// memchr-speed search; the standard library's `firstIndex` on raw buffers is not vectorised.
    @inline(__always)
    private static func firstIndex(of byte: UInt8, in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard start < bytes.count, let base = bytes.baseAddress else { return nil }
        guard let found = memchr(base + start, Int32(byte), bytes.count - start) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }
}
