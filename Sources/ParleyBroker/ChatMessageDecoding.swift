import Foundation
import NIOCore
import ParleyRelay

/// Why a `/app/chat.sendMessage` body was refused; `message` is client safe.
struct ChatMessageDecodingError: Error {
    var message: String
}

/// Decodes and validates the body of `/app/chat.sendMessage`.
enum ChatMessageDecoding {
    /// Longest accepted room or receiver id, in UTF-8 bytes.
    static let maxIdLength = 256

    static func decode(_ body: ByteBuffer) throws(ChatMessageDecodingError) -> ChatMessage {
        var message: ChatMessage
        do {
            message = try JSONDecoder().decode(ChatMessage.self, from: Data(body.readableBytesView))
        } catch DecodingError.keyNotFound(let key, _) {
            throw ChatMessageDecodingError(message: "missing field '\(key.stringValue)'")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            let field = context.codingPath.last?.stringValue ?? "body"
            throw ChatMessageDecodingError(message: "field '\(field)' has the wrong type")
        } catch {
            throw ChatMessageDecodingError(
                message: "body must be a JSON object {roomId, receiverId?, content, messageType?}")
        }
        if message.receiverId?.isEmpty == true { message.receiverId = nil }
        try validate(id: message.roomId, field: "roomId")
        if let receiverId = message.receiverId { try validate(id: receiverId, field: "receiverId") }
        return message
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
}
