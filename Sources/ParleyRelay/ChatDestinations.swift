/// The chat application's STOMP destinations, in the original Spring app's vocabulary. The one home of these
/// names: the server's chat application, the load generator and the conformance profiles all read them here.
public enum ChatDestinations {
    /// Where clients SEND ``ChatMessage`` JSON (`@MessageMapping("/chat.sendMessage")` under the `/app` prefix).
    public static let sendMessage = "/app/chat.sendMessage"
    /// Where a user receives one-to-one messages (Spring's `convertAndSendToUser(id, "/queue/messages", …)`).
    public static let directMessages = "/user/queue/messages"
    /// The prefix of room topics: room `42` is `/topic/rooms.42`.
    public static let roomPrefix = "/topic/rooms."

    /// The topic of room `roomId`.
    public static func room(_ roomId: String) -> String { roomPrefix + roomId }
}
