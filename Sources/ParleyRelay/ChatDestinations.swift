/// The STOMP destinations of Parley's chat, in the original Spring app's dialect: the one place that spells them,
/// for the broker and for the kit's Parley defaults (load generator, profiles).
public enum ChatDestinations {
    /// Where clients SEND chat messages (a `ChatMessage` JSON body; with `receiverId` it is a direct message).
    public static let sendMessage = "/app/chat.sendMessage"
    /// What a client subscribes to for its own direct messages (Spring's user destination, routed by principal).
    public static let directMessages = "/user/queue/messages"
    /// The prefix of every room topic; the room id follows it.
    public static let roomPrefix = "/topic/rooms."

    /// The topic room `roomId`'s messages are delivered on, e.g. `/topic/rooms.lobby`.
    public static func room(_ roomId: String) -> String { roomPrefix + roomId }
}
