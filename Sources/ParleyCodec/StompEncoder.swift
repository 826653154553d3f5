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
        let escaping: Escaping = frame.command.escapesHeaders ? Escaping(version) : .none
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

    /// `true` when ``escapeHeaderValue(_:version:)`` would return `value` unchanged (the common case), checked
    /// without allocating. In 1.0 nothing is escaped; 1.1 escapes LF, `:` and `\\`; 1.2 also CR.
    public static func isPlainHeaderValue(_ value: String, version: StompVersion) -> Bool {
        if version == .v1_0 { return true }
        for byte in value.utf8 where byte == 0x0A || byte == 0x3A || byte == 0x5C || (byte == 0x0D && version == .v1_2) {
            return false
        }
        return true
    }

    /// `value` escaped as a header name or value of a `version` frame (STOMP 1.2 §"Value Encoding"); the same
    /// rule ``encode(_:version:into:)`` applies to every header of frames other than CONNECT/CONNECTED.
    public static func escapeHeaderValue(_ value: String, version: StompVersion) -> String {
        if isPlainHeaderValue(value, version: version) { return value }
        let escaping = Escaping(version)
        return String(unsafeUninitializedCapacity: 2 * value.utf8.count) { target in
            write(value, escaping: escaping, to: UnsafeMutableRawPointer(target.baseAddress!))
        }
    }

    /// Which bytes become escape sequences.
    private enum Escaping {
        case none, v1_1, v1_2

        init(_ version: StompVersion) {
            switch version {
            case .v1_0: self = .none
            case .v1_1: self = .v1_1
            case .v1_2: self = .v1_2
            }
        }
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

    /// Writes `text` escaped per `escaping`; returns the bytes written (at most twice the UTF-8 length).
    @inline(__always)
    private static func write(_ text: String, escaping: Escaping, to target: UnsafeMutableRawPointer) -> Int {
        var text = text
        return text.withUTF8 { bytes in
            var needsEscaping = false
            if case .none = escaping {} else {
                for byte in bytes where byte == 0x0A || byte == 0x3A || byte == 0x5C || byte == 0x0D {
                    needsEscaping = true
                    break
                }
            }
            guard needsEscaping else {
                if let source = bytes.baseAddress { target.copyMemory(from: source, byteCount: bytes.count) }
                return bytes.count
            }
            var offset = 0
            func put(_ byte: UInt8) {
                target.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
                offset += 1
            }
            for byte in bytes {
                switch byte {
                case 0x0A: put(0x5C); put(UInt8(ascii: "n"))
                case 0x3A: put(0x5C); put(UInt8(ascii: "c"))
                case 0x5C: put(0x5C); put(0x5C)
                case 0x0D:
                    // STOMP 1.1 has no escape for CR; it is written raw, as 1.1 peers expect.
                    if case .v1_2 = escaping { put(0x5C); put(UInt8(ascii: "r")) } else { put(byte) }
                default: put(byte)
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
