import NIOCore
import ParleyJSON
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
        var fields = Fields()
        do {
            try body.withUnsafeReadableBytes { bytes throws(FlatJSONError) in
                var reader = FlatJSONReader(bytes: bytes)
                try reader.readObject { key, value in
                    switch key {
                    case "roomId": fields.roomId = value
                    case "receiverId": fields.receiverId = value
                    case "content": fields.content = value
                    case "messageType": fields.messageType = value
                    case "senderId": fields.senderId = value
                    default: break
                    }
                }
            }
        } catch {
            throw .notAnObject
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

extension Optional where Wrapped == JSONScalar {
    /// An id field: a string or an integer; `nil` when absent or null.
    fileprivate func id(field: String) throws(ChatMessageDecodingError) -> String? {
        guard let value = self, value != .null else { return nil }
        guard let id = value.idValue else { throw ChatMessageDecodingError(message: "field '\(field)' has the wrong type") }
        return id
    }
}
