/// A small strict JSON reader for JWT headers and claim sets.
///
/// Foundation's decoders dominate the cost of verifying a token, and a JWT needs only the top-level members of
/// one object. This reader validates the whole document (RFC 8259 grammar, UTF-8 strings with escapes), keeps
/// top-level scalar members and records nested objects/arrays as `.composite`. Duplicate top-level keys are
/// rejected: with duplicates different parsers could disagree about, say, which `alg` a header carries.
struct FlatJSONObject {
    enum Value: Equatable {
        case string(String)
        case number(Double)
        case bool(Bool)
        case null
        case composite
    }

    /// Members in document order. A claim set has a handful, so a linear scan beats hashing.
    private(set) var members: [(key: String, value: Value)] = []

    subscript(key: String) -> Value? {
        for member in members where member.key == key { return member.value }
        return nil
    }

    /// Parses `bytes` as exactly one JSON object; `nil` if it is anything else.
    init?(parsing bytes: [UInt8]) {
        let parsed: [(key: String, value: Value)]? = bytes.withUnsafeBufferPointer { buffer in
            var parser = Parser(buffer: buffer)
            return parser.parseTopLevelObject()
        }
        guard let parsed else { return nil }
        members = parsed
    }

    private struct Parser {
        let buffer: UnsafeBufferPointer<UInt8>
        var position = 0
        /// Nesting cap so a hostile `[[[[…` cannot exhaust the stack.
        static let maximumDepth = 32

        init(buffer: UnsafeBufferPointer<UInt8>) { self.buffer = buffer }

        mutating func parseTopLevelObject() -> [(key: String, value: Value)]? {
            skipWhitespace()
            guard consume(UInt8(ascii: "{")) else { return nil }
            var members: [(key: String, value: Value)] = []
            members.reserveCapacity(8)
            /// Past a few members, duplicates are found by hashing so a hostile object stays linear.
            var seenKeys: Set<String>?
            skipWhitespace()
            if consume(UInt8(ascii: "}")) {
                skipWhitespace()
                return position == buffer.count ? members : nil
            }
            while true {
                skipWhitespace()
                guard let key = parseString() else { return nil }
                skipWhitespace()
                guard consume(UInt8(ascii: ":")) else { return nil }
                skipWhitespace()
                guard let value = parseValue(depth: 1) else { return nil }
                if var seen = seenKeys {
                    guard seen.insert(key).inserted else { return nil }
                    seenKeys = seen
                } else {
                    guard !members.contains(where: { $0.key == key }) else { return nil }
                    if members.count == 16 { seenKeys = Set(members.map(\.key) + [key]) }
                }
                members.append((key, value))
                skipWhitespace()
                if consume(UInt8(ascii: ",")) { continue }
                guard consume(UInt8(ascii: "}")) else { return nil }
                break
            }
            skipWhitespace()
            return position == buffer.count ? members : nil
        }

        mutating func parseValue(depth: Int) -> Value? {
            guard position < buffer.count, depth <= Self.maximumDepth else { return nil }
            switch buffer[position] {
            case UInt8(ascii: "\""):
                return parseString().map(Value.string)
            case UInt8(ascii: "{"):
                return skipComposite(open: UInt8(ascii: "{"), close: UInt8(ascii: "}"), depth: depth) ? .composite : nil
            case UInt8(ascii: "["):
                return skipComposite(open: UInt8(ascii: "["), close: UInt8(ascii: "]"), depth: depth) ? .composite : nil
            case UInt8(ascii: "t"):
                return consumeLiteral("true") ? .bool(true) : nil
            case UInt8(ascii: "f"):
                return consumeLiteral("false") ? .bool(false) : nil
            case UInt8(ascii: "n"):
                return consumeLiteral("null") ? .null : nil
            default:
                return parseNumber().map(Value.number)
            }
        }

        /// Validates a nested object or array without keeping it.
        mutating func skipComposite(open: UInt8, close: UInt8, depth: Int) -> Bool {
            guard consume(open) else { return false }
            skipWhitespace()
            if consume(close) { return true }
            while true {
                skipWhitespace()
                if open == UInt8(ascii: "{") {
                    guard parseString() != nil else { return false }
                    skipWhitespace()
                    guard consume(UInt8(ascii: ":")) else { return false }
                    skipWhitespace()
                }
                guard parseValue(depth: depth + 1) != nil else { return false }
                skipWhitespace()
                if consume(UInt8(ascii: ",")) { continue }
                return consume(close)
            }
        }

        mutating func parseNumber() -> Double? {
            let start = position
            _ = consume(UInt8(ascii: "-"))
            guard position < buffer.count else { return nil }
            if buffer[position] == UInt8(ascii: "0") {
                position += 1
            } else {
                guard consumeDigits() else { return nil }
            }
            var isInteger = true
            if consume(UInt8(ascii: ".")) {
                isInteger = false
                guard consumeDigits() else { return nil }
            }
            if position < buffer.count, buffer[position] | 0x20 == UInt8(ascii: "e") {
                isInteger = false
                position += 1
                if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
                guard consumeDigits() else { return nil }
            }
            let slice = UnsafeBufferPointer(rebasing: buffer[start..<position])
            // Integers (the usual NumericDate) are summed directly; anything else goes through Double's parser.
            if isInteger, slice.count <= 16 {
                var value: Int64 = 0
                var negative = false
                for byte in slice {
                    if byte == UInt8(ascii: "-") { negative = true; continue }
                    value = value * 10 + Int64(byte - UInt8(ascii: "0"))
                }
                return Double(negative ? -value : value)
            }
            return Double(String(decoding: slice, as: UTF8.self))
        }

        mutating func consumeDigits() -> Bool {
            let start = position
            while position < buffer.count, buffer[position] >= UInt8(ascii: "0"), buffer[position] <= UInt8(ascii: "9") {
                position += 1
            }
            return position > start
        }

        mutating func parseString() -> String? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            let start = position
            // Fast path: no escapes, then the bytes are the string (UTF-8 validated by String(validating:)).
            while position < buffer.count {
                let byte = buffer[position]
                if byte == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: buffer[start..<position])
                    position += 1
                    return String(validating: slice, as: UTF8.self)
                }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { return nil }
                position += 1
            }
            guard position < buffer.count else { return nil }
            var bytes = Array(UnsafeBufferPointer(rebasing: buffer[start..<position]))
            while position < buffer.count {
                let byte = buffer[position]
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(validating: bytes, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard position < buffer.count else { return nil }
                    let escape = buffer[position]
                    position += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(escape)
                    case UInt8(ascii: "b"): bytes.append(0x08)
                    case UInt8(ascii: "f"): bytes.append(0x0C)
                    case UInt8(ascii: "n"): bytes.append(0x0A)
                    case UInt8(ascii: "r"): bytes.append(0x0D)
                    case UInt8(ascii: "t"): bytes.append(0x09)
                    case UInt8(ascii: "u"):
                        guard let scalar = parseUnicodeEscape() else { return nil }
                        bytes.append(contentsOf: Array(String(Character(scalar)).utf8))
                    default: return nil
                    }
                default:
                    if byte < 0x20 { return nil }
                    bytes.append(byte)
                }
            }
            return nil
        }

        /// Reads `XXXX` after `\u`, combining a surrogate pair when one follows.
        mutating func parseUnicodeEscape() -> Unicode.Scalar? {
            guard let high = parseHex4() else { return nil }
            if (0xD800...0xDBFF).contains(high) {
                guard consumeLiteral("\\u"), let low = parseHex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
            }
            return Unicode.Scalar(high)
        }

        mutating func parseHex4() -> UInt32? {
            guard position + 4 <= buffer.count else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = buffer[position]
                position += 1
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }

        mutating func skipWhitespace() {
            while position < buffer.count {
                switch buffer[position] {
                case 0x20, 0x09, 0x0A, 0x0D: position += 1
                default: return
                }
            }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard position < buffer.count, buffer[position] == byte else { return false }
            position += 1
            return true
        }

        mutating func consumeLiteral(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard position + count <= buffer.count else { return false }
            let base = literal.utf8Start
            for offset in 0..<count where buffer[position + offset] != base[offset] { return false }
            position += count
            return true
        }
    }
}
