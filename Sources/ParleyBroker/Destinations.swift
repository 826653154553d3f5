import ParleyCodec

/// Spring `@EnableWebSocketMessageBroker` destinations, as the broker classifies them.
public enum Destination: Hashable, Sendable {
    /// `/topic/...`: node-local publish/subscribe; chat rooms are `/topic/rooms.{roomId}`.
    case topic(String)
    /// `/user/queue/...` as written by the subscriber; the broker keys it by principal.
    case userQueue(String)
    /// `/user/{someone}/queue/...`: another user's queue, never readable.
    case otherUserQueue(String)
    /// `/app/...`: an application handler (SEND only).
    case application(String)

    /// The destination that carries one-to-one chat messages.
    public static let chatQueue = "/user/queue/messages"
    /// The `/app` handler that accepts ``ParleyRelay/ChatMessage`` JSON.
    public static let sendMessage = "/app/chat.sendMessage"
    /// The prefixes clients may use, for error messages.
    public static let allowedPrefixes = "/app, /topic, /user/queue"

    /// Classifies `raw`; `nil` when it is outside every allowed prefix or malformed.
    public init?(_ raw: String) {
        func hasBody(after prefix: String) -> Bool { raw.utf8.count > prefix.utf8.count }
        if raw.hasPrefix("/topic/"), hasBody(after: "/topic/") {
            self = .topic(raw)
        } else if raw.hasPrefix("/user/queue/"), hasBody(after: "/user/queue/") {
            self = .userQueue(raw)
        } else if raw.hasPrefix("/app/"), hasBody(after: "/app/") {
            self = .application(raw)
        } else if raw.hasPrefix("/user/"), raw.dropFirst("/user/".count).contains("/") {
            self = .otherUserQueue(raw)
        } else {
            return nil
        }
    }

    /// The ERROR message for a destination outside the allowed prefixes.
    static func unsupportedMessage(_ raw: String) -> String {
        "unsupported destination '\(raw)': allowed prefixes are \(allowedPrefixes)"
    }
}

/// STOMP header escaping per version (CONNECT/CONNECTED are never escaped; 1.0 has no escaping).
enum HeaderEscaping {
    /// `true` when `value` needs no escaping, the common case, checked without allocating.
    static func isPlain(_ value: String, version: StompVersion) -> Bool {
        if version == .v1_0 { return true }
        for byte in value.utf8 where byte == 0x0A || byte == 0x3A || byte == 0x5C || (byte == 0x0D && version == .v1_2) {
            return false
        }
        return true
    }

    /// `value` escaped for `version`.
    static func escape(_ value: String, version: StompVersion) -> String {
        if isPlain(value, version: version) { return value }
        var out = ""
        out.reserveCapacity(value.utf8.count + 8)
        for character in value.unicodeScalars {
            switch character {
            case "\n": out += "\\n"
            case ":": out += "\\c"
            case "\\": out += "\\\\"
            case "\r" where version == .v1_2: out += "\\r"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }
}
