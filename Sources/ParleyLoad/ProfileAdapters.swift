import ParleyClient
import ParleyCodec
import ParleyProfiles

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

/// Credentials from a profile's ``CredentialProvider`` (account API sign-up + login for bearer profiles,
/// rendered login/passcode otherwise); client `i` is the logical user `load<i>`.
public struct ProfileCredentials: LoadCredentialProvider {
    /// The shared provider (it caches per user).
    public let provider: CredentialProvider

    /// Wraps `provider`; create it with the run's id so names match the run.
    public init(provider: CredentialProvider) {
        self.provider = provider
    }

    /// The profile's CONNECT headers for `load<index>`, with its user id as principal.
    public func credentials(forClient index: Int, runID: String) async throws -> LoadCredentials {
        let credentials = try await provider.credentials(for: "load\(index)")
        return LoadCredentials(
            principal: credentials.userID,
            connectHeaders: StompHeaders(credentials.connectHeaders.map { ($0.name, $0.value) }))
    }
}

extension StompClient.Options {
    /// Options with the profile's CONNECT `host` header and WebSocket subprotocols.
    public init(profile: ServerProfile) {
        self.init(host: profile.connection.hostHeader)
        connection.webSocketSubprotocols = profile.connection.websocketSubprotocols
    }
}
