import NIOCore
import ParleyRelay

/// Why a `/app/chat.sendMessage` body was refused; `message` is client safe.
struct ChatMessageDecodingError: Error {
    var message: String
    static let notAnObject = ChatMessageDecodingError(
        message: "body must be a JSON object {roomId, receiverId?, content, messageType?}")
}

/// Decodes and validates the body of `/app/chat.sendMessage`.
///
/// A hand-written parser for the one flat object this endpoint takes: it runs once per chat message on the
/// event loop, where Foundation's `JSONDecoder` cost several times more than the rest of the SEND path.
/// It accepts what `ChatMessage`'s `Codable` conformance accepts (ids as strings or integers, unknown
/// fields ignored, `messageType` defaulting to `TALK`) and rejects anything that is not strict JSON.
enum ChatMessageDecoding {
    /// Longest accepted room or receiver id, in UTF-8 bytes.
    static let maxIdLength = 256

    static func decode(_ body: ByteBuffer) throws(ChatMessageDecodingError) -> ChatMessage {
        let fields: Fields
        do {
            fields = try body.withUnsafeReadableBytes { bytes throws(ChatMessageDecodingError) -> Fields in
                var parser = FlatJSONParser(bytes: bytes)
                return try parser.parseChatFields()
            }
        }
        guard let roomId = try fields.roomId.id(field: "roomId") else {
            throw ChatMessageDecodingError(message: "missing field 'roomId'")
        }
        guard case .string(let content)? = fields.content else {
            throw fields.content == nil || fields.content == .some(.null)
                ? ChatMessageDecodingError(message: "missing field 'content'")
                : ChatMessageDecodingError(message: "field 'content' has the wrong type")
        }
        var receiverId = try fields.receiverId.id(field: "receiverId")
        let senderId = try fields.senderId.id(field: "senderId")
        let messageType: String
        switch fields.messageType {
        case nil, .null?: messageType = "TALK"
        case .string(let value)?: messageType = value
        default: throw ChatMessageDecodingError(message: "field 'messageType' has the wrong type")
        }
        if receiverId?.isEmpty == true { receiverId = nil }
        try validate(id: roomId, field: "roomId")
        if let receiverId { try validate(id: receiverId, field: "receiverId") }
        return ChatMessage(roomId: roomId, receiverId: receiverId, content: content, messageType: messageType, senderId: senderId)
    }

    private static func validate(id: String, field: String) throws(ChatMessageDecodingError) {
        guard !id.isEmpty else { throw ChatMessageDecodingError(message: "'\(field)' must not be empty") }
        guard id.utf8.count <= maxIdLength else {
            throw ChatMessageDecodingError(message: "'\(field)' is longer than \(maxIdLength) bytes")
        }
        guard !id.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw ChatMessageDecodingError(message: "'\(field)' must not contain control characters")
        }
    }

    struct Fields {
        var roomId: JSONScalar?
        var receiverId: JSONScalar?
        var content: JSONScalar?
        var messageType: JSONScalar?
        var senderId: JSONScalar?
    }
}

/// A JSON value as far as a flat object needs it.
enum JSONScalar: Equatable {
    case string(String)
    case integer(Int64)
    case null
    /// Anything else (boolean, fraction, array, object): always the wrong type for our fields.
    case other
}

extension Optional where Wrapped == JSONScalar {
    /// An id field: a string or an integer; `nil` when absent or null.
    fileprivate func id(field: String) throws(ChatMessageDecodingError) -> String? {
        switch self {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case .integer(let value)?: return String(value)
        case .other?: throw ChatMessageDecodingError(message: "field '\(field)' has the wrong type")
        }
    }
}

/// A strict single-pass JSON reader over raw bytes.
struct FlatJSONParser {
    let bytes: UnsafeRawBufferPointer
    var index = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    private var invalid: ChatMessageDecodingError { .notAnObject }

    mutating func parseChatFields() throws(ChatMessageDecodingError) -> ChatMessageDecoding.Fields {
        var fields = ChatMessageDecoding.Fields()
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
                let value = try parseValue()
                switch key {
                case "roomId": fields.roomId = value
                case "receiverId": fields.receiverId = value
                case "content": fields.content = value
                case "messageType": fields.messageType = value
                case "senderId": fields.senderId = value
                default: break
                }
                skipWhitespace()
                let next = try take()
                if next == UInt8(ascii: "}") { break }
                guard next == UInt8(ascii: ",") else { throw invalid }
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw invalid }
        return fields
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func take() throws(ChatMessageDecodingError) -> UInt8 {
        guard index < bytes.count else { throw invalid }
        defer { index += 1 }
        return bytes[index]
    }

    private mutating func expect(_ byte: UInt8) throws(ChatMessageDecodingError) {
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

    private mutating func parseValue() throws(ChatMessageDecodingError) -> JSONScalar {
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
            return .other
        case UInt8(ascii: "f"):
            try literal("false")
            return .other
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            try skipContainer()
            return .other
        default:
            throw invalid
        }
    }

    private mutating func literal(_ word: StaticString) throws(ChatMessageDecodingError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw invalid }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { throw invalid }
        index += count
    }

    private mutating func parseNumber() throws(ChatMessageDecodingError) -> JSONScalar {
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
        guard isInteger, let value = Int64(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)) else {
            return .other
        }
        return .integer(value)
    }

    /// Skips a nested array or object, honouring strings so that brackets inside them do not count.
    private mutating func skipContainer() throws(ChatMessageDecodingError) {
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

    private mutating func parseString() throws(ChatMessageDecodingError) -> String {
        try expect(UInt8(ascii: "\""))
        let start = index
        // Fast path: no escapes.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let value = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return value
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw invalid }
            index += 1
        }
        var scalars: [UInt8] = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while true {
            let byte = try take()
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: scalars, as: UTF8.self)
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

    private mutating func hex4() throws(ChatMessageDecodingError) -> UInt32 {
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
