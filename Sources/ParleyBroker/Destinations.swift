/// Spring `@EnableWebSocketMessageBroker` destination prefixes, as the broker classifies them. Application
/// destination names (`/app/chat.sendMessage`, …) belong to the applications that own them.
public enum Destination: Hashable, Sendable {
    /// `/topic/...`: node-local publish/subscribe (chat rooms are topics).
    case topic(String)
    /// `/user/queue/...` as written by the subscriber; the broker keys it by principal.
    case userQueue(String)
    /// `/user/{someone}/queue/...`: another user's queue, never readable.
    case otherUserQueue(String)
    /// `/app/...`: an application handler (SEND only).
    case application(String)

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
