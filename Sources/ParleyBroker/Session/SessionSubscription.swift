/// One SUBSCRIBE of one session, as the session protocol sees it.
struct SessionSubscription: Equatable, Sendable {
    /// The client's subscription id.
    var id: String
    /// The destination as the client wrote it.
    var destination: String
    /// The principal whose `/user/queue/...` this is; `nil` for topics.
    var userQueueOwner: String?
    /// How its messages are acknowledged.
    var ackMode: AckMode
}

/// How a subscription's messages are acknowledged.
enum AckMode: Sendable {
    case auto, client, clientIndividual

    /// The mode named by an `ack` header (`nil` means `auto`); `nil` for an unknown name.
    init?(header: String?) {
        switch header {
        case nil, "auto": self = .auto
        case "client": self = .client
        case "client-individual": self = .clientIndividual
        default: return nil
        }
    }
}
