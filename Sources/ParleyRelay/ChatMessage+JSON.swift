import ParleyJSON

/// Why a `/app/chat.sendMessage` body was refused; `message` is client safe.
public struct ChatMessageDecodingError: Error, Sendable, Equatable {
    /// A short, client-safe reason.
    public var message: String
    /// Creates an error with a client-safe reason.
    public init(message: String) { self.message = message }

    static let notAnObject = ChatMessageDecodingError(
        message: "body must be a JSON object {roomId, receiverId?, content, messageType?}")
}

extension ChatMessage {
    /// Longest accepted room or receiver id, in UTF-8 bytes.
    public static let maxIdLength = 256

    /// Decodes and validates the body of `/app/chat.sendMessage`.
    ///
    /// A hand-written parser for the one flat object this endpoint takes: it runs once per chat message on the
    /// event loop, where Foundation's `JSONDecoder` cost several times more than the rest of the SEND path.
    /// It accepts what the `Codable` conformance accepts (ids as strings or integers, unknown fields ignored,
    /// `messageType` defaulting to `TALK`) and rejects anything that is not strict JSON, plus empty, over-long or
    /// control-character ids.
    public static func decode(json bytes: UnsafeRawBufferPointer) throws(ChatMessageDecodingError) -> ChatMessage {
        var fields = Fields()
        do {
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

    /// ``decode(json:)-(UnsafeRawBufferPointer)`` over any contiguous bytes.
    public static func decode(json bytes: some Collection<UInt8>) throws(ChatMessageDecodingError) -> ChatMessage {
        func attempt(_ buffer: UnsafeBufferPointer<UInt8>) -> Result<ChatMessage, ChatMessageDecodingError> {
            Result { () throws(ChatMessageDecodingError) in try decode(json: UnsafeRawBufferPointer(buffer)) }
        }
        let result = bytes.withContiguousStorageIfAvailable(attempt) ?? Array(bytes).withUnsafeBufferPointer(attempt)
        return try result.get()
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

    private struct Fields {
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
