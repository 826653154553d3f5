import NIOCore

/// Writes frames in wire format.
public enum StompEncoder {
    /// The byte a peer sends as a heart-beat (an EOL between frames).
    public static let heartBeat: UInt8 = 0x0A

    /// Appends `frame` to `buffer`: command, headers escaped per `version` (never for CONNECT/CONNECTED, never in
    /// 1.0), a `content-length` when the body is non-empty and none is given, the body and the NUL terminator.
    ///
    /// Headers are written as given: a header that cannot be represented (a line break in a 1.0 or CONNECT header,
    /// a wrong explicit `content-length`) is the caller's mistake and yields a frame the peer will reject.
    public static func encode(_ frame: StompFrame, version: StompVersion = .v1_2, into buffer: inout ByteBuffer) {
        // nil: header bytes are written verbatim (CONNECT/CONNECTED, or STOMP 1.0).
        let escaping: StompVersion? = frame.command.escapesHeaders && version != .v1_0 ? version : nil
        let bodyLength = frame.body.readableBytes
        var needsContentLength = bodyLength > 0
        // Escaping at most doubles a string, so this bound lets the head be written with one capacity check.
        var headBound = frame.command.rawValue.utf8.count + 2 + 36
        for field in frame.headers.fields {
            headBound += 2 * (field.name.utf8.count + field.value.utf8.count) + 2
            if needsContentLength && field.name == "content-length" { needsContentLength = false }
        }
        buffer.reserveCapacity(minimumWritableBytes: headBound + bodyLength + 1)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: headBound) { target in
            let base = target.baseAddress!
            var offset = copy(frame.command.rawValue, to: base)
            base.storeBytes(of: 0x0A, toByteOffset: offset, as: UInt8.self)
            offset += 1
            for field in frame.headers.fields {
                offset += write(field.name, escaping: escaping, to: base + offset)
                base.storeBytes(of: 0x3A, toByteOffset: offset, as: UInt8.self)
                offset += 1
                offset += write(field.value, escaping: escaping, to: base + offset)
                base.storeBytes(of: 0x0A, toByteOffset: offset, as: UInt8.self)
                offset += 1
            }
            if needsContentLength {
                offset += copy("content-length:", to: base + offset)
                offset += writeDecimal(bodyLength, to: base + offset)
                base.storeBytes(of: 0x0A, toByteOffset: offset, as: UInt8.self)
                offset += 1
            }
            base.storeBytes(of: 0x0A, toByteOffset: offset, as: UInt8.self)
            return offset + 1
        }
        if bodyLength > 0 {
            var body = frame.body
            buffer.writeBuffer(&body)
        }
        buffer.writeInteger(UInt8(0))
    }

    /// The wire bytes of `frame` in a new buffer.
    public static func encode(_ frame: StompFrame, version: StompVersion = .v1_2) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(estimatedSize(of: frame))
        encode(frame, version: version, into: &buffer)
        return buffer
    }

    /// An upper-bound guess of the encoded size (escaping aside), to allocate once.
    public static func estimatedSize(of frame: StompFrame) -> Int {
        var size = frame.command.rawValue.utf8.count + 2 + frame.body.readableBytes + 1 + 32
        for field in frame.headers.fields {
            size += field.name.utf8.count + field.value.utf8.count + 2
        }
        return size
    }

    /// Copies the UTF-8 bytes of `text`; returns how many.
    @inline(__always)
    private static func copy(_ text: String, to target: UnsafeMutableRawPointer) -> Int {
        var text = text
        return text.withUTF8 { bytes in
            if let source = bytes.baseAddress { target.copyMemory(from: source, byteCount: bytes.count) }
            return bytes.count
        }
    }

    /// Writes `text` escaped for `version` (``StompHeaderEscaping``'s rules; nil writes it verbatim); returns the
    /// bytes written (at most twice the UTF-8 length).
    @inline(__always)
    private static func write(_ text: String, escaping version: StompVersion?, to target: UnsafeMutableRawPointer) -> Int {
        var text = text
        return text.withUTF8 { bytes in
            var needsEscaping = false
            if let version {
                for byte in bytes where StompHeaderEscaping.escapeLetter(for: byte, version: version) != nil {
                    needsEscaping = true
                    break
                }
            }
            guard needsEscaping, let version else {
                if let source = bytes.baseAddress { target.copyMemory(from: source, byteCount: bytes.count) }
                return bytes.count
            }
            var offset = 0
            func put(_ byte: UInt8) {
                target.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
                offset += 1
            }
            for byte in bytes {
                if let letter = StompHeaderEscaping.escapeLetter(for: byte, version: version) {
                    put(StompHeaderEscaping.backslash)
                    put(letter)
                } else {
                    put(byte)
                }
            }
            return offset
        }
    }

    /// Writes a non-negative decimal without allocating a String; returns the digit count (at most 19).
    private static func writeDecimal(_ value: Int, to target: UnsafeMutableRawPointer) -> Int {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        var remaining = value
        for index in stride(from: digits - 1, through: 0, by: -1) {
            target.storeBytes(of: UInt8(ascii: "0") + UInt8(remaining % 10), toByteOffset: index, as: UInt8.self)
            remaining /= 10
        }
        return digits
    }
}
