import Foundation
import ParleyJSON

/// How logical destinations map to one server's destination names and message bodies.
///
/// Templates use `{name}` placeholders; `{name|json}` inserts the value as a JSON string literal (quoted and
/// escaped), for bodies such as Parley's `/app/chat.sendMessage` payload.
public struct DestinationMap: Sendable, Hashable, Codable {
    /// A plain topic, `{name}` placeholder, e.g. `/topic/{name}`.
    public var topic: String
    /// A plain queue, `{name}` placeholder, e.g. `/queue/{name}`.
    public var queue: String
    /// Where room messages are received: `{room}` placeholder (Parley: `/topic/rooms.{room}`).
    public var room: String
    /// What a user subscribes to for their own direct messages: `{user}` placeholder
    /// (Parley: `/user/queue/messages`; RabbitMQ: `/queue/{user}`).
    public var userQueue: String
    /// The destination an attacker would use to read another user's queue: `{user}` is the victim.
    public var otherUserQueue: String?
    /// How to send a message to a room.
    public var roomSend: SendTemplate
    /// How to send a direct message to a user.
    public var directSend: SendTemplate
    /// Where the text content sits in a delivered MESSAGE body: nil = the whole body, else a dotted JSON path.
    public var contentField: String?
    /// Dotted JSON path of the sender id in a delivered body (nil when the server does not report senders).
    public var senderField: String?

    /// Creates a destination map.
    public init(
        topic: String = "/topic/{name}", queue: String = "/queue/{name}", room: String, userQueue: String,
        otherUserQueue: String? = nil, roomSend: SendTemplate, directSend: SendTemplate,
        contentField: String? = nil, senderField: String? = nil
    ) {
        self.topic = topic
        self.queue = queue
        self.room = room
        self.userQueue = userQueue
        self.otherUserQueue = otherUserQueue
        self.roomSend = roomSend
        self.directSend = directSend
        self.contentField = contentField
        self.senderField = senderField
    }

    enum CodingKeys: String, CodingKey {
        case topic, queue, room
        case userQueue = "user_queue"
        case otherUserQueue = "other_user_queue"
        case roomSend = "room_send"
        case directSend = "direct_send"
        case contentField = "content_field"
        case senderField = "sender_field"
    }

    /// Decodes a map; `topic` and `queue` default to `/topic/{name}` and `/queue/{name}`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        topic = try container.decodeIfPresent(String.self, forKey: .topic) ?? "/topic/{name}"
        queue = try container.decodeIfPresent(String.self, forKey: .queue) ?? "/queue/{name}"
        room = try container.decode(String.self, forKey: .room)
        userQueue = try container.decode(String.self, forKey: .userQueue)
        otherUserQueue = try container.decodeIfPresent(String.self, forKey: .otherUserQueue)
        roomSend = try container.decode(SendTemplate.self, forKey: .roomSend)
        directSend = try container.decode(SendTemplate.self, forKey: .directSend)
        contentField = try container.decodeIfPresent(String.self, forKey: .contentField)
        senderField = try container.decodeIfPresent(String.self, forKey: .senderField)
    }

    /// The server's name for plain topic `name`.
    public func topic(_ name: String) -> String { Template.render(topic, ["name": name]) }
    /// The server's name for plain queue `name`.
    public func queue(_ name: String) -> String { Template.render(queue, ["name": name]) }
    /// Where messages of room `room` are received.
    public func room(_ room: String) -> String { Template.render(self.room, ["room": room]) }
    /// What `user` subscribes to for their direct messages.
    public func userQueue(of user: String) -> String { Template.render(userQueue, ["user": user]) }
    /// The destination that would read `victim`'s queue, if the profile names one.
    public func otherUserQueue(of victim: String) -> String? {
        otherUserQueue.map { Template.render($0, ["user": victim]) }
    }

    /// The SEND for a room message: destination, extra headers and body.
    public func roomMessage(room: String, from sender: String, content: String) -> RenderedSend {
        roomSend.render(["room": room, "from": sender, "content": content])
    }

    /// The SEND for a direct message from `sender` to `receiver`.
    public func directMessage(to receiver: String, from sender: String, content: String, room: String = "direct")
        -> RenderedSend
    {
        directSend.render(["to": receiver, "from": sender, "content": content, "room": room])
    }
}

/// How to send one kind of logical message: destination, headers and body templates.
public struct SendTemplate: Sendable, Hashable, Codable {
    /// Destination template.
    public var destination: String
    /// Body template; default `{content}` (the text itself).
    public var body: String
    /// Extra SEND headers (templates), e.g. `content-type: application/json`.
    public var headers: [String: String]

    /// Creates a send template.
    public init(destination: String, body: String = "{content}", headers: [String: String] = [:]) {
        self.destination = destination
        self.body = body
        self.headers = headers
    }

    enum CodingKeys: String, CodingKey { case destination, body, headers }

    /// Decodes a template; `body` defaults to `{content}`, `headers` to none.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        destination = try container.decode(String.self, forKey: .destination)
        body = try container.decodeIfPresent(String.self, forKey: .body) ?? "{content}"
        headers = try container.decodeIfPresent([String: String].self, forKey: .headers) ?? [:]
    }

    /// Renders destination, headers (sorted by name) and body with `values`.
    public func render(_ values: [String: String]) -> RenderedSend {
        RenderedSend(
            destination: Template.render(destination, values),
            headers: headers.sorted { $0.key < $1.key }.map { ($0.key, Template.render($0.value, values)) },
            body: Template.render(body, values))
    }
}

/// A SEND ready to put on the wire.
public struct RenderedSend: Sendable {
    /// The `destination` header.
    public var destination: String
    /// Extra headers in order.
    public var headers: [(String, String)]
    /// The body text.
    public var body: String
}

/// `{name}` / `{name|json}` placeholder rendering used by profile templates.
public enum Template {
    /// Replaces every `{key}` with `values[key]` and `{key|json}` with the value as a JSON string literal.
    /// Unknown placeholders are left as they are so a typo is visible in the output rather than silently empty.
    public static func render(_ template: String, _ values: [String: String]) -> String {
        var output = ""
        var index = template.startIndex
        while index < template.endIndex {
            let character = template[index]
            if character == "{", let close = template[index...].firstIndex(of: "}") {
                let inner = template[template.index(after: index)..<close]
                let parts = inner.split(separator: "|", maxSplits: 1).map(String.init)
                if let key = parts.first, let value = values[key] {
                    if parts.count == 2 && parts[1] == "json" {
                        output += jsonStringLiteral(value)
                    } else {
                        output += value
                    }
                    index = template.index(after: close)
                    continue
                }
            }
            output.append(character)
            index = template.index(after: index)
        }
        return output
    }

    /// `value` as a quoted, escaped JSON string.
    public static func jsonStringLiteral(_ value: String) -> String {
        JSONString.quoted(value)
    }
}
