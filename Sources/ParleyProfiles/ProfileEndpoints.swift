import ParleyClient

extension ServerProfile {
    /// Parses a STOMP URL (`tcp://…`, `ws://…`) into the client's endpoint; errors name the URL and the reason.
    public static func endpoint(url: String) throws(StompEndpointError) -> StompEndpoint {
        try StompEndpoint(url: url)
    }

    /// The endpoint of the profile's example URL for `transport`, nil when the profile has none.
    public func defaultEndpoint(for transport: TransportKind) -> StompEndpoint? {
        connection.url(for: transport).flatMap { try? StompEndpoint(url: $0) }
    }

    /// CONNECT headers for `credentials` as this profile wants them: `accept-version`, `host` (the profile's
    /// `host_header`, else `fallbackHost`), `heart-beat`, then the authentication headers.
    public func connectHeaders(
        for credentials: ClientCredentials, fallbackHost: String, heartBeat: String = "0,0"
    ) -> [(String, String)] {
        var headers: [(String, String)] = [
            ("accept-version", connection.acceptVersion),
            ("host", connection.hostHeader ?? fallbackHost),
            ("heart-beat", heartBeat),
        ]
        headers.append(contentsOf: credentials.connectHeaders.map { ($0.name, $0.value) })
        return headers
    }
}

extension StompClient.Options {
    /// Options with the profile's CONNECT `host` header and WebSocket subprotocols.
    public init(profile: ServerProfile) {
        self.init(host: profile.connection.hostHeader)
        connection.webSocketSubprotocols = profile.connection.websocketSubprotocols
    }
}

extension TransportKind {
    /// The transport of a client endpoint.
    public init(_ endpoint: StompEndpoint) {
        switch endpoint.transport {
        case .tcp: self = .tcp
        case .webSocket: self = .websocket
        }
    }
}
