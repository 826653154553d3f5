/// Strict base64url (RFC 4648 §5) without padding, as JWS compact serialization requires: the one codec behind
/// token verification (ParleyAuth), secret files, unverified token peeks (``JWTPeek``) and the tokens the
/// conformance kit mints.
///
/// Strict means: no `=`, no whitespace, no characters outside the url-safe alphabet, and the unused low bits
/// of the last character must be zero. Without the last rule two different strings decode to the same bytes,
/// so a "tampered" signature could still verify.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// 0...63 for alphabet bytes, 0xFF otherwise.
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// Encodes bytes without padding.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let input = Array(bytes)
        var output = [UInt8]()
        output.reserveCapacity((input.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= input.count {
            let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
            output.append(alphabet[Int(value >> 6 & 63)])
            output.append(alphabet[Int(value & 63)])
            index += 3
        }
        let remaining = input.count - index
        if remaining == 1 {
            let value = UInt32(input[index]) << 16
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
        } else if remaining == 2 {
            let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
            output.append(alphabet[Int(value >> 6 & 63)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Whether `text` is exactly the unpadded base64url spelling of `bytes`, compared in constant time
    /// (no early exit) and without allocating.
    public static func constantTimeMatches(bytes: UnsafeRawBufferPointer, text: UnsafeRawBufferPointer) -> Bool {
        let expectedLength = (bytes.count * 4 + 2) / 3
        guard text.count == expectedLength else { return false }
        return alphabet.withUnsafeBufferPointer { alphabet -> Bool in
            var difference: UInt8 = 0
            var textIndex = 0
            var byteIndex = 0
            while byteIndex < bytes.count {
                let available = min(3, bytes.count - byteIndex)
                var value = UInt32(bytes[byteIndex]) << 16
                if available > 1 { value |= UInt32(bytes[byteIndex + 1]) << 8 }
                if available > 2 { value |= UInt32(bytes[byteIndex + 2]) }
                for position in 0...available {
                    let shift = UInt32(18 - 6 * position)
                    difference |= alphabet[Int(value >> shift & 63)] ^ text[textIndex]
                    textIndex += 1
                }
                byteIndex += 3
            }
            return difference == 0
        }
    }

    /// Decodes strictly; `nil` when the input is not canonical unpadded base64url.
    public static func decode(_ input: String) -> [UInt8]? {
        var input = input
        return input.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }

    /// Decodes strictly; `nil` when the input is not canonical unpadded base64url.
    public static func decode(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        let count = input.count
        if count % 4 == 1 { return nil }
        var output = [UInt8]()
        output.reserveCapacity(count * 3 / 4)
        return decodeTable.withUnsafeBufferPointer { table -> [UInt8]? in
            var index = 0
            while index + 4 <= count {
                let a = table[Int(input[index])], b = table[Int(input[index + 1])]
                let c = table[Int(input[index + 2])], d = table[Int(input[index + 3])]
                if (a | b | c | d) & 0xC0 != 0 { return nil }
                let value = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                output.append(UInt8(truncatingIfNeeded: value >> 16))
                output.append(UInt8(truncatingIfNeeded: value >> 8))
                output.append(UInt8(truncatingIfNeeded: value))
                index += 4
            }
            switch count - index {
            case 0:
                break
            case 2:
                let a = table[Int(input[index])], b = table[Int(input[index + 1])]
                if (a | b) & 0xC0 != 0 || b & 0x0F != 0 { return nil }
                output.append(a << 2 | b >> 4)
            case 3:
                let a = table[Int(input[index])], b = table[Int(input[index + 1])], c = table[Int(input[index + 2])]
                if (a | b | c) & 0xC0 != 0 || c & 0x03 != 0 { return nil }
                output.append(a << 2 | b >> 4)
                output.append(b << 4 | c >> 2)
            default:
                return nil
            }
            return output
        }
    }
}
