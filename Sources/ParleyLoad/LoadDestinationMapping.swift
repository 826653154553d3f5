import ParleyClient
import ParleyCodec
import ParleyProfiles
import ParleyRelay

/// A load participant once connected: its index in the run and the name the server knows it by.
public struct LoadParticipant: Sendable, Hashable {
    /// Index of the client in the run (0-based).
    public var index: Int
    /// The principal: the credentials' user id, else CONNECTED's `user-name`, else the login used.
    public var principal: String
    /// The run this participant belongs to.
    public var runID: String

    /// Creates a participant.
    public init(index: Int, principal: String, runID: String) {
        self.index = index
        self.principal = principal
        self.runID = runID
    }
}

/// One SEND frame's destination, body and extra headers.
public struct LoadOutgoingMessage: Sendable, Hashable {
    /// SEND destination.
    public var destination: String
    /// Body text.
    public var body: String
    /// Extra headers (e.g. `content-type`).
    public var headers: StompHeaders

    /// Creates a message.
    public init(destination: String, body: String, headers: StompHeaders = [:]) {
        self.destination = destination
        self.body = body
        self.headers = headers
    }
}

/// How scenario roles map to one server's destinations ("profiles" in the conformance kit name whole servers;
/// this is the part the load generator needs). Implement it to drive any other STOMP dialect.
public protocol LoadDestinationMapping: Sendable {
    /// Short name for reports.
    var name: String { get }
    /// What a ring participant subscribes to, to receive its direct messages.
    func inboxDestination(of participant: LoadParticipant) -> String
    /// The SEND that delivers `payload` to `recipient`'s inbox.
    func directMessage(payload: String, from sender: LoadParticipant, to recipient: LoadParticipant) -> LoadOutgoingMessage
    /// What room subscribers subscribe to.
    func roomDestination(room: String, runID: String) -> String
    /// The SEND that publishes `payload` to everyone in `room`.
    func roomMessage(payload: String, room: String, from sender: LoadParticipant) -> LoadOutgoingMessage
}

/// Parley (and the original Spring app), destinations from ``ChatDestinations``: SEND to
/// `/app/chat.sendMessage` with a ChatMessage JSON body; direct messages arrive on `/user/queue/messages`,
/// room messages on `/topic/rooms.{roomId}`.
public struct ParleyChatMapping: LoadDestinationMapping {
    /// "parley".
    public var name: String { "parley" }

    /// Creates the mapping.
    public init() {}

    /// ``ChatDestinations/directMessages``.
    public func inboxDestination(of participant: LoadParticipant) -> String { ChatDestinations.directMessages }

    /// ``ChatDestinations/sendMessage`` with `receiverId` = the recipient's principal.
    public func directMessage(payload: String, from sender: LoadParticipant, to recipient: LoadParticipant) -> LoadOutgoingMessage {
        let body = #"{"roomId":"load-\#(sender.runID)","receiverId":\#(Template.jsonStringLiteral(recipient.principal)),"content":"\#(payload)","messageType":"TALK"}"#
        return LoadOutgoingMessage(destination: ChatDestinations.sendMessage, body: body, headers: ["content-type": "application/json"])
    }

    /// ``ChatDestinations/room(_:)``.
    public func roomDestination(room: String, runID: String) -> String { ChatDestinations.room(room) }

    /// ``ChatDestinations/sendMessage`` without `receiverId`.
    public func roomMessage(payload: String, room: String, from sender: LoadParticipant) -> LoadOutgoingMessage {
        let body = #"{"roomId":\#(Template.jsonStringLiteral(room)),"content":"\#(payload)","messageType":"TALK"}"#
        return LoadOutgoingMessage(destination: ChatDestinations.sendMessage, body: body, headers: ["content-type": "application/json"])
    }
}

/// Destinations from a conformance server profile (`conformance/profiles/*.yaml`): the user queue, direct and
/// room SEND templates, the room destination. Participants' principals are the profile's user ids.
public struct ProfileDestinationMapping: LoadDestinationMapping {
    /// The profile.
    public let profile: ServerProfile

    /// Wraps `profile`.
    public init(profile: ServerProfile) {
        self.profile = profile
    }

    /// The profile name.
    public var name: String { profile.name }

    /// `user_queue` for the participant's user id.
    public func inboxDestination(of participant: LoadParticipant) -> String {
        profile.destinations.userQueue(of: participant.principal)
    }

    /// `direct_send` rendered for the recipient's user id, in room `load-<run>`.
    public func directMessage(payload: String, from sender: LoadParticipant, to recipient: LoadParticipant) -> LoadOutgoingMessage {
        let send = profile.destinations.directMessage(
            to: recipient.principal, from: sender.principal, content: payload, room: "load-\(sender.runID)")
        return LoadOutgoingMessage(destination: send.destination, body: send.body, headers: StompHeaders(send.headers))
    }

    /// `room` rendered for `room`.
    public func roomDestination(room: String, runID: String) -> String {
        profile.destinations.room(room)
    }

    /// `room_send` rendered for `room`.
    public func roomMessage(payload: String, room: String, from sender: LoadParticipant) -> LoadOutgoingMessage {
        let send = profile.destinations.roomMessage(room: room, from: sender.principal, content: payload)
        return LoadOutgoingMessage(destination: send.destination, body: send.body, headers: StompHeaders(send.headers))
    }
}

/// Generic brokers (RabbitMQ, ActiveMQ): one queue per ring participant, `/queue/<prefix>-<run>-<i>`, and a
/// topic per room, `/topic/<prefix>-<run>-<room>`. Fresh names per run, because brokers keep queues.
public struct BrokerQueueMapping: LoadDestinationMapping {
    /// Prefix of queue and topic names.
    public var prefix: String

    /// Creates the mapping with a name prefix (default `parley-load`).
    public init(prefix: String = "parley-load") {
        self.prefix = prefix
    }

    /// "queues".
    public var name: String { "queues" }

    /// `/queue/<prefix>-<run>-<index>`.
    public func inboxDestination(of participant: LoadParticipant) -> String {
        "/queue/\(prefix)-\(participant.runID)-\(participant.index)"
    }

    /// The payload sent straight to the recipient's queue.
    public func directMessage(payload: String, from sender: LoadParticipant, to recipient: LoadParticipant) -> LoadOutgoingMessage {
        LoadOutgoingMessage(destination: inboxDestination(of: recipient), body: payload)
    }

    /// `/topic/<prefix>-<run>-<room>`.
    public func roomDestination(room: String, runID: String) -> String { "/topic/\(prefix)-\(runID)-\(room)" }

    /// The payload published to the room topic.
    public func roomMessage(payload: String, room: String, from sender: LoadParticipant) -> LoadOutgoingMessage {
        LoadOutgoingMessage(destination: roomDestination(room: room, runID: sender.runID), body: payload)
    }
}
