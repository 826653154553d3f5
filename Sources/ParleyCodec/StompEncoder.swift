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
        var needsContentLength = frame.body.readableBytes > 0
        buffer.writeString(frame.command.rawValue)
        buffer.writeInteger(UInt8(ascii: "\n"))
        for field in frame.headers.fields {
            if needsContentLength && field.name == "content-length" { needsContentLength = false }
            write(field.name, escaping: escaping, into: &buffer)
            buffer.writeInteger(UInt8(ascii: ":"))
            write(field.value, escaping: escaping, into: &buffer)
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        if needsContentLength {
            buffer.writeStaticString("content-length:")
            writeDecimal(frame.body.readableBytes, into: &buffer)
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
        var body = frame.body
        buffer.writeBuffer(&body)
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

    @inline(__always)
    private static func write(_ text: String, escaping: Escaping, into buffer: inout ByteBuffer) {
        if case .none = escaping {
            buffer.writeString(text)
            return
        }
        var text = text
        text.withUTF8 { bytes in
            var needsEscaping = false
            for byte in bytes where byte == 0x0A || byte == 0x3A || byte == 0x5C || byte == 0x0D {
                needsEscaping = true
                break
            }
            guard needsEscaping else {
                buffer.writeBytes(bytes)
                return
            }
            for byte in bytes {
                switch byte {
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x3A: buffer.writeStaticString("\\c")
                case 0x5C: buffer.writeStaticString("\\\\")
                case 0x0D:
                    // STOMP 1.1 has no escape for CR; it is written raw, as 1.1 peers expect.
                    if case .v1_2 = escaping { buffer.writeStaticString("\\r") } else { buffer.writeInteger(byte) }
                default: buffer.writeInteger(byte)
                }
            }
        }
    }

    private static func writeDecimal(_ value: Int, into buffer: inout ByteBuffer) {
        // Avoids a String allocation per frame for the content-length value.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { scratch in
            var remaining = value
            var index = scratch.count
            repeat {
                index -= 1
                scratch[index] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            } while remaining > 0
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: scratch[index...]))
        }
    }
}
