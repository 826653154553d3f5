import ParleyCodec

/// A description of one STOMP server family: how to reach it, how to authenticate, how logical destinations
/// map to its names, which capabilities it claims and which known deviations it has.
///
/// Profiles are YAML files (`conformance/profiles/*.yaml`, documented in `docs/conversations.md`); the
/// conformance kit and the load generator both read them, so one file describes a server for every tool.
public struct ServerProfile: Sendable, Hashable, Codable {
    /// Short identifier, e.g. `parley`, `rabbitmq`; matches the file name.
    public var name: String
    /// One line for humans: what server this profile targets.
    public var summary: String
    /// Transport settings: URL forms, `host` header, WebSocket subprotocols.
    public var connection: ConnectionSettings
    /// How clients authenticate.
    public var auth: AuthSettings
    /// How logical destinations (rooms, user queues, direct messages) map to the server's names.
    public var destinations: DestinationMap
    /// Capability tags the server claims; conversations needing a tag not listed here are skipped.
    public var capabilities: Set<String>
    /// Behaviours known to differ from the conversations' expectations, each with its reason.
    public var deviations: [KnownDeviation]

    /// Creates a profile from its parts.
    public init(
        name: String, summary: String, connection: ConnectionSettings, auth: AuthSettings,
        destinations: DestinationMap, capabilities: Set<String>, deviations: [KnownDeviation] = []
    ) {
        self.name = name
        self.summary = summary
        self.connection = connection
        self.auth = auth
        self.destinations = destinations
        self.capabilities = capabilities
        self.deviations = deviations
    }

    enum CodingKeys: String, CodingKey {
        case name, summary, connection, auth, destinations, capabilities, deviations
    }

    /// Decodes a profile; `deviations` may be omitted.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        summary = try container.decodeIfPresent(String.self, forKey: .summary) ?? ""
        connection = try container.decode(ConnectionSettings.self, forKey: .connection)
        auth = try container.decode(AuthSettings.self, forKey: .auth)
        destinations = try container.decode(DestinationMap.self, forKey: .destinations)
        capabilities = Set(try container.decodeIfPresent([String].self, forKey: .capabilities) ?? [])
        deviations = try container.decodeIfPresent([KnownDeviation].self, forKey: .deviations) ?? []
    }

    /// Encodes the profile with capabilities sorted, so output is stable.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(summary, forKey: .summary)
        try container.encode(connection, forKey: .connection)
        try container.encode(auth, forKey: .auth)
        try container.encode(destinations, forKey: .destinations)
        try container.encode(capabilities.sorted(), forKey: .capabilities)
        try container.encode(deviations, forKey: .deviations)
    }

    /// The known deviations that apply to `conversation` over `transport` (empty when none).
    public func deviations(for conversation: String, transport: TransportKind) -> [KnownDeviation] {
        deviations.filter { $0.conversation == conversation && ($0.transports?.contains(transport) ?? true) }
    }
}

/// The two transports a STOMP server may offer.
public enum TransportKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// STOMP over a plain TCP connection (`tcp://host:port`).
    case tcp
    /// STOMP over WebSocket (`ws://host:port/path`).
    case websocket

    /// The transport a URL's scheme selects: `tcp`/`stomp` → TCP, `ws` → WebSocket; nil for anything else.
    public init?(urlScheme: String) {
        switch urlScheme.lowercased() {
        case "tcp", "stomp": self = .tcp
        case "ws": self = .websocket
        default: return nil
        }
    }
}

/// How to reach the server.
public struct ConnectionSettings: Sendable, Hashable, Codable {
    /// Example URL per transport (documentation and defaults), e.g. `ws://127.0.0.1:8084/ws/chat`.
    public var urls: [String: String]
    /// Value of the CONNECT `host` header (RabbitMQ: the vhost `/`); nil sends the URL's host name.
    public var hostHeader: String?
    /// Subprotocols offered in the WebSocket upgrade, most preferred first.
    public var websocketSubprotocols: [String]
    /// `accept-version` sent by default.
    public var acceptVersion: String

    /// Creates connection settings.
    public init(
        urls: [String: String], hostHeader: String? = nil,
        websocketSubprotocols: [String] = StompVersion.webSocketSubprotocols, acceptVersion: String = "1.2"
    ) {
        self.urls = urls
        self.hostHeader = hostHeader
        self.websocketSubprotocols = websocketSubprotocols
        self.acceptVersion = acceptVersion
    }

    enum CodingKeys: String, CodingKey {
        case urls
        case hostHeader = "host_header"
        case websocketSubprotocols = "websocket_subprotocols"
        case acceptVersion = "accept_version"
    }

    /// Decodes settings; everything but `urls` has a default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        urls = try container.decodeIfPresent([String: String].self, forKey: .urls) ?? [:]
        hostHeader = try container.decodeIfPresent(String.self, forKey: .hostHeader)
        websocketSubprotocols =
            try container.decodeIfPresent([String].self, forKey: .websocketSubprotocols)
            ?? StompVersion.webSocketSubprotocols
        acceptVersion = try container.decodeIfPresent(String.self, forKey: .acceptVersion) ?? "1.2"
    }

    /// The example URL for `transport`, if the profile gives one.
    public func url(for transport: TransportKind) -> String? { urls[transport.rawValue] }
}

/// How a STOMP client proves who it is.
public struct AuthSettings: Sendable, Hashable, Codable {
    /// The authentication method.
    public enum Method: String, Sendable, Hashable, Codable {
        /// A JWT access token obtained from an account API, sent in a CONNECT header.
        case bearer
        /// `login`/`passcode` CONNECT headers (static or templated per client).
        case login
        /// No credentials at all.
        case none
    }

    /// The method used by clients that do not ask for something else.
    public var method: Method
    /// Bearer settings (method `bearer`).
    public var bearer: BearerSettings?
    /// Account API used to create users and obtain tokens (method `bearer`).
    public var accountAPI: AccountAPISettings?
    /// Static or templated login/passcode (method `login`). Templates may use `{user}` and `{client}`.
    public var login: LoginSettings?
    /// How a client's user id (the name the server routes user destinations by) is derived.
    public var userID: UserIDSource
    /// Optional: how to mint tokens locally for negative tests (expired, refresh-type); honoured only when the
    /// runner is given the secret, so a profile never carries one.
    public var tokenMinting: TokenMintingSettings?

    /// Creates auth settings.
    public init(
        method: Method, bearer: BearerSettings? = nil, accountAPI: AccountAPISettings? = nil,
        login: LoginSettings? = nil, userID: UserIDSource = .template("{client}-{run}"),
        tokenMinting: TokenMintingSettings? = nil
    ) {
        self.method = method
        self.bearer = bearer
        self.accountAPI = accountAPI
        self.login = login
        self.userID = userID
        self.tokenMinting = tokenMinting
    }

    enum CodingKeys: String, CodingKey {
        case method, bearer, login
        case accountAPI = "account_api"
        case userID = "user_id"
        case tokenMinting = "token_minting"
    }

    /// Decodes auth settings; `user_id` defaults to the `{client}-{run}` template.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        method = try container.decode(Method.self, forKey: .method)
        bearer = try container.decodeIfPresent(BearerSettings.self, forKey: .bearer)
        accountAPI = try container.decodeIfPresent(AccountAPISettings.self, forKey: .accountAPI)
        login = try container.decodeIfPresent(LoginSettings.self, forKey: .login)
        userID = try container.decodeIfPresent(UserIDSource.self, forKey: .userID) ?? .template("{client}-{run}")
        tokenMinting = try container.decodeIfPresent(TokenMintingSettings.self, forKey: .tokenMinting)
    }
}

/// Where a bearer token goes in CONNECT.
public struct BearerSettings: Sendable, Hashable, Codable {
    /// Header name, e.g. `Authorization`.
    public var header: String
    /// Header value template; `{token}` is replaced, e.g. `Bearer {token}`.
    public var format: String

    /// Creates bearer settings.
    public init(header: String = "Authorization", format: String = "Bearer {token}") {
        self.header = header
        self.format = format
    }

    /// The CONNECT header carrying `token`.
    public func header(for token: String) -> (name: String, value: String) {
        (header, format.replacingOccurrences(of: "{token}", with: token))
    }
}

/// Static or templated `login`/`passcode` pair.
public struct LoginSettings: Sendable, Hashable, Codable {
    /// `login` header template (`{user}`, `{client}` allowed).
    public var login: String
    /// `passcode` header template.
    public var passcode: String

    /// Creates login settings.
    public init(login: String, passcode: String) {
        self.login = login
        self.passcode = passcode
    }
}

/// How the runner learns a client's user id.
public enum UserIDSource: Sendable, Hashable, Codable {
    /// The `sub` claim of the client's access token (Parley: the account id).
    case tokenSubject
    /// A field of the signup response, by dotted JSON path.
    case signupField(String)
    /// A template over `{client}` (the conversation's client name) and `{run}` (unique per run).
    case template(String)

    enum CodingKeys: String, CodingKey { case from, path, template }

    /// Decodes `{from: token-subject}`, `{from: signup, path: id}` or `{template: "{client}-{run}"}`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let template = try container.decodeIfPresent(String.self, forKey: .template) {
            self = .template(template)
            return
        }
        let from = try container.decode(String.self, forKey: .from)
        switch from {
        case "token-subject": self = .tokenSubject
        case "signup": self = .signupField(try container.decode(String.self, forKey: .path))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .from, in: container,
                debugDescription: "user_id.from must be token-subject or signup, not \(from)")
        }
    }

    /// Encodes the same shapes `init(from:)` reads.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .tokenSubject: try container.encode("token-subject", forKey: .from)
        case .signupField(let path):
            try container.encode("signup", forKey: .from)
            try container.encode(path, forKey: .path)
        case .template(let template): try container.encode(template, forKey: .template)
        }
    }
}

/// Claims layout for locally minted HS256 tokens. The secret itself comes from the runner (an environment
/// variable named here, or an explicit value the test harness passes), never from the profile file.
public struct TokenMintingSettings: Sendable, Hashable, Codable {
    /// Environment variable holding the server's signing secret (e.g. `PARLEY_JWT_SECRET`).
    public var secretEnv: String
    /// Claim naming the token type.
    public var typeClaim: String
    /// Value of `typeClaim` in access tokens.
    public var accessType: String
    /// Value of `typeClaim` in refresh tokens.
    public var refreshType: String

    /// Creates minting settings.
    public init(secretEnv: String, typeClaim: String = "typ", accessType: String = "access", refreshType: String = "refresh") {
        self.secretEnv = secretEnv
        self.typeClaim = typeClaim
        self.accessType = accessType
        self.refreshType = refreshType
    }

    enum CodingKeys: String, CodingKey {
        case secretEnv = "secret_env"
        case typeClaim = "type_claim"
        case accessType = "access_type"
        case refreshType = "refresh_type"
    }
}

/// A behaviour of the server known to differ from a conversation's expectation.
public struct KnownDeviation: Sendable, Hashable, Codable {
    /// Name of the conversation that deviates.
    public var conversation: String
    /// Why: what the server does instead, and whether it is allowed by the spec.
    public var reason: String
    /// Transports the deviation applies to; nil means all.
    public var transports: [TransportKind]?

    /// Creates a deviation entry.
    public init(conversation: String, reason: String, transports: [TransportKind]? = nil) {
        self.conversation = conversation
        self.reason = reason
        self.transports = transports
    }
}
