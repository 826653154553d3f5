/// Input that is not one strict JSON object.
public struct FlatJSONError: Error, Sendable {
    /// Creates the error.
    public init() {}
}

/// A JSON value as far as a flat object needs it.
public enum JSONScalar: Equatable, Sendable {
    /// A string (escapes resolved, valid UTF-8).
    case string(String)
    /// A number written without fraction or exponent that fits in 64 bits.
    case integer(Int64)
    /// Any other number.
    case number(Double)
    /// `true` or `false`.
    case bool(Bool)
    /// `null`.
    case null
    /// A nested array or object (skipped, not kept).
    case composite
}

extension JSONScalar {
    /// An id: a string, or an integer written as digits; `nil` for anything else.
    public var idValue: String? {
        switch self {
        case .string(let value): value
        case .integer(let value): String(value)
        case .number, .bool, .null, .composite: nil
        }
    }

    /// The value of a number, integer or not; `nil` for anything else.
    public var numberValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        case .string, .bool, .null, .composite: nil
        }
    }
}

/// A strict single-pass reader for one flat JSON object over raw bytes: members are handed out as they are
/// read; nested arrays and objects are skipped (``JSONScalar/composite``, iteratively: no nesting depth can
/// exhaust the stack). Anything that is not strict JSON (RFC 8259, strings in valid UTF-8) throws.
///
/// Chat bodies, relayed events and JWT headers and claims are flat objects read on hot paths (once per message,
/// once per token), where Foundation's `JSONDecoder` cost several times more than everything else around them.
public struct FlatJSONReader {
    let bytes: UnsafeRawBufferPointer
    var index = 0

    /// A reader over `bytes`.
    public init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    private var invalid: FlatJSONError { FlatJSONError() }

    /// Reads the one object that makes up the input and calls `member` with each key and value, in order.
    public mutating func readObject(_ member: (String, JSONScalar) -> Void) throws(FlatJSONError) {
        skipWhitespace()
        try expect(UInt8(ascii: "{"))
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipWhitespace()
                let key = try parseString()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                member(key, try parseValue())
                skipWhitespace()
                let next = try take()
                if next == UInt8(ascii: "}") { break }
                guard next == UInt8(ascii: ",") else { throw invalid }
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw invalid }
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func take() throws(FlatJSONError) -> UInt8 {
        guard index < bytes.count else { throw invalid }
        defer { index += 1 }
        return bytes[index]
    }

    private mutating func expect(_ byte: UInt8) throws(FlatJSONError) {
        guard try take() == byte else { throw invalid }
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(FlatJSONError) -> JSONScalar {
        guard let first = peek() else { throw invalid }
        switch first {
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            try skipContainer()
            return .composite
        default:
            throw invalid
        }
    }

    private mutating func literal(_ word: StaticString) throws(FlatJSONError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw invalid }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { throw invalid }
        index += count
    }

    private mutating func parseNumber() throws(FlatJSONError) -> JSONScalar {
        let start = index
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let firstDigit = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(firstDigit) else { throw invalid }
        if firstDigit == UInt8(ascii: "0") {
            index += 1
        } else {
            while let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
        }
        var isInteger = true
        if peek() == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { throw invalid }
            while let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { throw invalid }
            while let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let value = Int64(text) { return .integer(value) }
        guard let value = Double(text), value.isFinite else { throw invalid }
        return .number(value)
    }

    /// Skips a nested array or object, honouring strings so that brackets inside them do not count.
    private mutating func skipContainer() throws(FlatJSONError) {
        var depth = 0
        repeat {
            let byte = try take()
            switch byte {
            case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            case UInt8(ascii: "\""):
                index -= 1
                _ = try parseString()
            default: break
            }
        } while depth > 0
    }

    private mutating func parseString() throws(FlatJSONError) -> String {
        try expect(UInt8(ascii: "\""))
        let start = index
        // Fast path: no escapes. All-ASCII text (the usual case) is valid UTF-8 by construction and skips the
        // validating initialiser, which is generic and not specialised.
        var unionOfBytes: UInt8 = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
                let value = unionOfBytes < 0x80 ? String(decoding: raw, as: UTF8.self) : try validUTF8(raw)
                index += 1
                return value
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw invalid }
            unionOfBytes |= byte
            index += 1
        }
        var scalars: [UInt8] = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while true {
            let byte = try take()
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = String(validating: scalars, as: UTF8.self) else { throw invalid }
                return string
            case UInt8(ascii: "\\"):
                let escape = try take()
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(escape)
                case UInt8(ascii: "b"): scalars.append(0x08)
                case UInt8(ascii: "f"): scalars.append(0x0C)
                case UInt8(ascii: "n"): scalars.append(0x0A)
                case UInt8(ascii: "r"): scalars.append(0x0D)
                case UInt8(ascii: "t"): scalars.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code) {
                        guard try take() == UInt8(ascii: "\\"), try take() == UInt8(ascii: "u") else { throw invalid }
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw invalid }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw invalid
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw invalid }
                    scalars.append(contentsOf: Array(String(Character(scalar)).utf8))
                default:
                    throw invalid
                }
            default:
                guard byte >= 0x20 else { throw invalid }
                scalars.append(byte)
            }
        }
    }

    /// `bytes` as a `String`; invalid UTF-8 is an error, not repaired.
    private func validUTF8(_ bytes: UnsafeRawBufferPointer) throws(FlatJSONError) -> String {
        guard let string = String(validating: bytes, as: UTF8.self) else { throw invalid }
        return string
    }

    private mutating func hex4() throws(FlatJSONError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = try take()
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw invalid
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}

/// Writes JSON string literals (RFC 8259 escaping; non-ASCII kept as UTF-8): the one writer behind chat events,
/// frames as JSON, profile templates and minted tokens.
public enum JSONString {
    /// Appends `string` as a quoted JSON string literal; `escapingDelete` also writes DEL (0x7F) as `\u007f`.
    public static func append(_ string: String, to out: inout [UInt8], escapingDelete: Bool = false) {
        out.append(UInt8(ascii: "\""))
        let needsEscape: (UInt8) -> Bool = { byte in
            byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || (escapingDelete && byte == 0x7F)
        }
        // Fast path: most text needs no escaping and is appended in one copy, scanned as contiguous bytes.
        var contiguous = string
        let appended = contiguous.withUTF8 { utf8 -> Bool in
            for byte in utf8 where needsEscape(byte) { return false }
            out.append(contentsOf: utf8)
            return true
        }
        if appended {
            out.append(UInt8(ascii: "\""))
            return
        }
        let hex = Array("0123456789abcdef".utf8)
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case _ where needsEscape(byte):
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `string` as a quoted JSON string literal.
    public static func quoted(_ string: String, escapingDelete: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(string.utf8.count + 2)
        append(string, to: &out, escapingDelete: escapingDelete)
        return String(decoding: out, as: UTF8.self)
    }
}
