import Foundation
import ParleyJSON
import Synchronization

/// The payload a client SENDs to `/app/chat.sendMessage` (the original Spring app's `ChatMessage`).
///
/// `senderId` is accepted so that payloads from the original app's clients still decode, but the broker
/// never trusts it: the sender is always the authenticated principal.
public struct ChatMessage: Codable, Sendable, Equatable {
    /// The room the message belongs to. Required.
    public var roomId: String
    /// The account id of the receiver of a 1:1 message; `nil` for a room broadcast.
    public var receiverId: String?
    /// The message text.
    public var content: String
    /// The original app's message type (`TALK`, `ENTER`, …); free-form, defaults to `TALK`.
    public var messageType: String
    /// Whatever sender the client claimed; compared with the principal by the broker.
    public var senderId: String?

    /// Creates a message.
    public init(roomId: String, receiverId: String? = nil, content: String, messageType: String = "TALK", senderId: String? = nil) {
        self.roomId = roomId
        self.receiverId = receiverId
        self.content = content
        self.messageType = messageType
        self.senderId = senderId
    }

    private enum CodingKeys: String, CodingKey { case roomId, receiverId, content, messageType, senderId }

    /// Decodes ids given as JSON strings or numbers (the original app used numeric ids).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        roomId = try c.decodeFlexibleID(.roomId)
        receiverId = try c.decodeFlexibleIDIfPresent(.receiverId)
        content = try c.decode(String.self, forKey: .content)
        messageType = try c.decodeIfPresent(String.self, forKey: .messageType) ?? "TALK"
        senderId = try c.decodeFlexibleIDIfPresent(.senderId)
    }
}

/// A chat event as relayed between nodes and delivered to clients (the original app's Kafka value).
public struct ChatEvent: Codable, Sendable, Equatable {
    /// Unique id, used to drop duplicates after a relay redelivers.
    public var messageId: String
    /// The room; also the Kafka partition key.
    public var roomId: String
    /// The authenticated principal that sent the message.
    public var senderId: String
    /// The receiver of a 1:1 message; `nil` for a room broadcast.
    public var receiverId: String?
    /// The message text.
    public var content: String
    /// The original app's message type.
    public var messageType: String
    /// When the server accepted the message, ISO 8601 UTC with milliseconds.
    public var timestamp: String
    /// The sender's `idempotency-key` header, when given: a retried SEND with the same key from the same sender is
    /// delivered once (every node drops the repeat within its window, see `ChatDeduplicationWindow`).
    public var idempotencyKey: String?

    /// Creates an event.
    public init(
        messageId: String, roomId: String, senderId: String, receiverId: String?, content: String,
        messageType: String, timestamp: String, idempotencyKey: String? = nil
    ) {
        self.messageId = messageId
        self.roomId = roomId
        self.senderId = senderId
        self.receiverId = receiverId
        self.content = content
        self.messageType = messageType
        self.timestamp = timestamp
        self.idempotencyKey = idempotencyKey
    }

    /// Builds the event for `message` sent by `principal`, with a fresh id and the current time.
    public init(accepting message: ChatMessage, from principal: String, now: Date = Date()) {
        self.init(
            messageId: ChatEvent.makeMessageId(), roomId: message.roomId, senderId: principal,
            receiverId: message.receiverId, content: message.content, messageType: message.messageType,
            timestamp: ChatEvent.formatTimestamp(now))
    }

    /// A fresh message id in UUID v4 form (lowercase).
    ///
    /// Foundation's `UUID()` reads the kernel's random source and formats with `snprintf` on every call, which
    /// showed up on the chat hot path; ids only need to be unique, so this mixes a per-process random key with
    /// a counter through splitmix64 (a bijection, so ids never repeat within a process).
    public static func makeMessageId() -> String {
        let counter = messageIdCounter.wrappingAdd(1, ordering: .relaxed).newValue
        var high = splitmix64(messageIdKeys.0 &+ counter)
        var low = splitmix64(messageIdKeys.1 ^ counter)
        high = (high & ~0xF000) | 0x4000  // version 4
        low = (low & ~(0xC000 << 48)) | (0x8000 << 48)  // RFC 4122 variant
        let hex = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: UInt8(ascii: "-"), count: 36)
        var position = 0
        for (word, dashes) in [(high, [8, 13]), (low, [18, 23])] {
            for shift in stride(from: 60, through: 0, by: -4) {
                if dashes.contains(position) { position += 1 }
                out[position] = hex[Int((word >> UInt64(shift)) & 0xF)]
                position += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func splitmix64(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The room topic a broadcast is delivered on, in Spring's dialect.
    public var roomTopic: String { ChatDestinations.room(roomId) }

    /// Formats `date` as ISO 8601 UTC with milliseconds (`2026-11-25T10:30:00.123Z`).
    ///
    /// Hand-written (civil-from-days arithmetic) because it runs once per chat message and Foundation's
    /// ISO 8601 format style costs more than the rest of accepting the message.
    public static func formatTimestamp(_ date: Date) -> String {
        // Truncated to milliseconds like Foundation's formatter.
        let interval = date.timeIntervalSince1970
        let wholeSeconds = interval.rounded(.down)
        let seconds = Int64(wholeSeconds)
        let milliseconds = min(999, Int(((interval - wholeSeconds) * 1000).rounded(.down)))
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        func digits(_ value: Int64, _ count: Int) {
            var divisor: Int64 = 1
            for _ in 1..<count { divisor *= 10 }
            var remaining = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8((remaining / divisor) % 10))
                remaining %= divisor
                divisor /= 10
            }
        }
        digits(year, 4)
        out.append(UInt8(ascii: "-"))
        digits(month, 2)
        out.append(UInt8(ascii: "-"))
        digits(day, 2)
        out.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3600, 2)
        out.append(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, 2)
        out.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2)
        out.append(UInt8(ascii: "."))
        digits(Int64(milliseconds), 3)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// The event as compact JSON with the original app's field names, in a fixed order.
    ///
    /// Hand-written because this runs once per relayed message on the hot path.
    public var jsonBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160 + content.utf8.count)
        out.append(contentsOf: #"{"messageId":"#.utf8)
        JSONString.append(messageId, to: &out)
        out.append(contentsOf: #","roomId":"#.utf8)
        JSONString.append(roomId, to: &out)
        out.append(contentsOf: #","senderId":"#.utf8)
        JSONString.append(senderId, to: &out)
        out.append(contentsOf: #","receiverId":"#.utf8)
        if let receiverId { JSONString.append(receiverId, to: &out) } else { out.append(contentsOf: "null".utf8) }
        out.append(contentsOf: #","content":"#.utf8)
        JSONString.append(content, to: &out)
        out.append(contentsOf: #","messageType":"#.utf8)
        JSONString.append(messageType, to: &out)
        out.append(contentsOf: #","timestamp":"#.utf8)
        JSONString.append(timestamp, to: &out)
        if let idempotencyKey {
            out.append(contentsOf: #","idempotencyKey":"#.utf8)
            JSONString.append(idempotencyKey, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Decodes an event from JSON (ids may be strings or numbers; unknown fields are ignored), as the
    /// `Codable` conformance does, with ``FlatJSONReader``: every relayed event is decoded once per node.
    public static func decode(json: some Collection<UInt8>) throws(ChatEventDecodingError) -> ChatEvent {
        func attempt(_ bytes: UnsafeRawBufferPointer) -> Result<ChatEvent, ChatEventDecodingError> {
            do throws(ChatEventDecodingError) { return .success(try decode(bytes: bytes)) } catch { return .failure(error) }
        }
        let result = json.withContiguousStorageIfAvailable { attempt(UnsafeRawBufferPointer($0)) }
            ?? Array(json).withUnsafeBytes { attempt($0) }
        return try result.get()
    }

    /// Decodes an event from the JSON in `bytes`.
    public static func decode(bytes: UnsafeRawBufferPointer) throws(ChatEventDecodingError) -> ChatEvent {
        var messageId: String?, roomId: String?, senderId: String?, receiverId: String?
        var content: String?, messageType: String?, timestamp: String?, idempotencyKey: String?
        var wrongType: String?
        func string(_ value: JSONScalar, _ key: String) -> String? {
            if case .string(let text) = value { return text }
            wrongType = wrongType ?? key
            return nil
        }
        func id(_ value: JSONScalar, _ key: String) -> String? {
            if let id = value.idValue { return id }
            wrongType = wrongType ?? key
            return nil
        }
        var reader = FlatJSONReader(bytes: bytes)
        do {
            try reader.readObject { key, value in
                switch key {
                case "messageId": messageId = string(value, key)
                case "roomId": roomId = id(value, key)
                case "senderId": senderId = id(value, key)
                case "receiverId": receiverId = value == .null ? nil : id(value, key)
                case "content": content = string(value, key)
                case "messageType": messageType = string(value, key)
                case "timestamp": timestamp = string(value, key)
                case "idempotencyKey": idempotencyKey = value == .null ? nil : string(value, key)
                default: break
                }
            }
        } catch {
            throw ChatEventDecodingError(reason: "not a JSON object")
        }
        if let wrongType { throw ChatEventDecodingError(reason: "field '\(wrongType)' has the wrong type") }
        guard let messageId else { throw ChatEventDecodingError(reason: "missing field 'messageId'") }
        guard let roomId else { throw ChatEventDecodingError(reason: "missing field 'roomId'") }
        guard let senderId else { throw ChatEventDecodingError(reason: "missing field 'senderId'") }
        guard let content else { throw ChatEventDecodingError(reason: "missing field 'content'") }
        guard let messageType else { throw ChatEventDecodingError(reason: "missing field 'messageType'") }
        guard let timestamp else { throw ChatEventDecodingError(reason: "missing field 'timestamp'") }
        return ChatEvent(
            messageId: messageId, roomId: roomId, senderId: senderId, receiverId: receiverId, content: content,
            messageType: messageType, timestamp: timestamp, idempotencyKey: idempotencyKey)
    }

    private enum CodingKeys: String, CodingKey {
        case messageId, roomId, senderId, receiverId, content, messageType, timestamp, idempotencyKey
    }

    /// Decodes ids given as JSON strings or numbers.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        messageId = try c.decode(String.self, forKey: .messageId)
        roomId = try c.decodeFlexibleID(.roomId)
        senderId = try c.decodeFlexibleID(.senderId)
        receiverId = try c.decodeFlexibleIDIfPresent(.receiverId)
        content = try c.decode(String.self, forKey: .content)
        messageType = try c.decode(String.self, forKey: .messageType)
        timestamp = try c.decode(String.self, forKey: .timestamp)
        idempotencyKey = try c.decodeIfPresent(String.self, forKey: .idempotencyKey)
    }
}

private let messageIdCounter = Atomic<UInt64>(0)
private let messageIdKeys = (UInt64.random(in: .min ... .max), UInt64.random(in: .min ... .max))

extension KeyedDecodingContainer {
    fileprivate func decodeFlexibleID(_ key: Key) throws -> String {
        if let s = try? decode(String.self, forKey: key) { return s }
        if let n = try? decode(Int64.self, forKey: key) { return String(n) }
        throw DecodingError.typeMismatch(
            String.self, .init(codingPath: codingPath + [key], debugDescription: "\(key.stringValue) must be a string or an integer"))
    }

    fileprivate func decodeFlexibleIDIfPresent(_ key: Key) throws -> String? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decodeFlexibleID(key)
    }
}

/// JSON that is not a chat event.
public struct ChatEventDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with it.
    public var reason: String

    /// Creates the error.
    public init(reason: String) { self.reason = reason }

    /// A one-line description.
    public var description: String { "not a chat event: \(reason)" }
}
