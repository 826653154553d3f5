/// One scripted multi-client STOMP conversation (a `Fixtures/conversations/*.yaml` file).
///
/// The format is documented in `docs/conversations.md`. Steps run in order; each client has its own connection
/// and inbox, so frames arrive concurrently while the script waits on the expectations.
public struct Conversation: Sendable, Hashable {
    /// Unique name; equals the file name without `.yaml`.
    public var name: String
    /// What the conversation checks, in one line.
    public var title: String
    /// Where the rule comes from (spec section, issue), free text.
    public var reference: String?
    /// Capability tags the server must claim for the conversation to run.
    public var tags: [String]
    /// Transports the conversation applies to; nil means all.
    public var transports: [String]?
    /// Default time an expectation waits, in seconds.
    public var defaultTimeout: Double
    /// The clients, in declaration order.
    public var clients: [ClientSpec]
    /// The script.
    public var steps: [Step]

    /// Creates a conversation.
    public init(
        name: String, title: String, reference: String? = nil, tags: [String], transports: [String]? = nil,
        defaultTimeout: Double = 3, clients: [ClientSpec], steps: [Step]
    ) {
        self.name = name
        self.title = title
        self.reference = reference
        self.tags = tags
        self.transports = transports
        self.defaultTimeout = defaultTimeout
        self.clients = clients
        self.steps = steps
    }

    /// Whether the conversation only uses plain STOMP (the `generic` tag): it must pass on any broker.
    public var isGeneric: Bool { tags.contains("generic") }
}

/// A named client of a conversation and how it authenticates.
public struct ClientSpec: Sendable, Hashable {
    /// Name used in steps and variables (`alice`).
    public var name: String
    /// Logical user; several clients with the same user are several sessions of one user. Defaults to `name`.
    public var user: String
    /// How this client authenticates.
    public var credentials: CredentialSource

    /// Creates a client spec.
    public init(name: String, user: String? = nil, credentials: CredentialSource = .profileDefault) {
        self.name = name
        self.user = user ?? name
        self.credentials = credentials
    }
}

/// Where a client's CONNECT credentials come from.
public enum CredentialSource: Sendable, Hashable {
    /// The profile's method (bearer access token, or login/passcode).
    case profileDefault
    /// No credentials at all.
    case none
    /// A bearer token of a particular kind (see `TokenKind`).
    case token(TokenKind)
    /// Fixed login/passcode headers.
    case login(login: String, passcode: String)
}

/// Kinds of bearer tokens a client can present; the negative ones exercise every auth failure.
public enum TokenKind: String, Sendable, Hashable, CaseIterable {
    /// A valid access token from the account API.
    case access
    /// The refresh token from the account API (must be refused where an access token is required).
    case refresh
    /// An access token for the user, expired an hour ago; minted with the server secret (needs `token-minting`).
    case expired
    /// A well-formed token for the user signed with a random key.
    case forged
    /// A token whose header says `alg: none` and whose signature is empty.
    case algNone = "alg-none"
    /// Not a JWT at all.
    case garbage
    /// The bearer header with an empty token.
    case empty
}

/// One step of the script.
public indirect enum Step: Sendable, Hashable {
    /// An action of one client; `line` is the YAML line for reports.
    case client(name: String, action: ClientAction, line: Int)
    /// Pause the script (not the clients).
    case sleep(seconds: Double, line: Int)
    /// Run the nested steps concurrently and wait for all.
    case parallel([Step], line: Int)

    /// The YAML line of the step.
    public var line: Int {
        switch self {
        case .client(_, _, let line), .sleep(_, let line), .parallel(_, let line): return line
        }
    }
}

/// What a client does or expects.
public enum ClientAction: Sendable, Hashable {
    /// Open the transport and send CONNECT (or STOMP); with `awaitConnected` also expect CONNECTED.
    case connect(ConnectOptions)
    /// SUBSCRIBE.
    case subscribe(destination: String, id: String?, ack: String?, receipt: String?, headers: [HeaderPair])
    /// UNSUBSCRIBE.
    case unsubscribe(id: String, receipt: String?)
    /// SEND to a destination; `bodySize` > 0 appends that many `x` bytes to the body (size-limit tests).
    case send(destination: String, body: String, headers: [HeaderPair], receipt: String?, bodySize: Int)
    /// A room message through the profile's `room_send` template.
    case say(room: String, content: String, receipt: String?)
    /// A direct message to another client's user through the profile's `direct_send` template.
    case directMessage(to: String, content: String, receipt: String?)
    /// ACK (`nack == false`) or NACK an id (1.2 `id`; 1.0/1.1 `message-id` + `subscription`).
    case acknowledge(nack: Bool, id: String, subscription: String?, receipt: String?)
    /// DISCONNECT, optionally with a receipt.
    case disconnect(receipt: String?)
    /// Any frame, headers verbatim, in order.
    case frame(command: String, headers: [HeaderPair], body: String)
    /// Raw bytes (YAML escapes such as `\n` and `\0` give control bytes).
    case raw(bytes: [UInt8])
    /// The bytes of a golden frame fixture `Fixtures/frames/NAME.stomp`.
    case rawFixture(name: String)
    /// One heart-beat (EOL).
    case heartBeat
    /// Close the transport without DISCONNECT (simulates a crash).
    case abort
    /// The next frame must match.
    case expect(FrameExpectation)
    /// The next frames must match these expectations, in any order.
    case expectAnyOrder([FrameExpectation])
    /// No frame may arrive within the time (heart-beats ignored).
    case expectNothing(WaitTime)
    /// The connection must be closed by the server within the time, with no further frame.
    /// `allowing` lists commands that may arrive (and are skipped) before the close, e.g. an explanatory ERROR.
    case expectClosed(WaitTime, allowing: [String])
    /// At least one heart-beat must arrive within the time.
    case expectHeartBeat(WaitTime)
}

/// How long a waiting step waits: fixed, or relative to the heart-beat intervals negotiated in CONNECTED, so a
/// conversation works whatever heart-beat settings the server has.
public enum WaitTime: Sendable, Hashable {
    /// A fixed number of seconds.
    case seconds(Double)
    /// Multiples of the negotiated server→client interval (how often the server must send something).
    case serverHeartBeats(Double)
    /// Multiples of the negotiated client→server interval (how long the server may wait for the client).
    case clientHeartBeats(Double)
}

/// Options of a connect step.
public struct ConnectOptions: Sendable, Hashable {
    /// `CONNECT` or `STOMP`.
    public var command: String
    /// `accept-version` value; nil = the profile's.
    public var acceptVersion: String?
    /// Omit `accept-version` entirely (a STOMP 1.0 client).
    public var omitAcceptVersion: Bool
    /// `heart-beat` value; nil = `0,0`.
    public var heartBeat: String?
    /// `host` value; nil = the profile's or the URL host.
    public var host: String?
    /// Extra headers appended after the generated ones.
    public var headers: [HeaderPair]
    /// Whether to expect CONNECTED (and record version, session, user-name).
    public var awaitConnected: Bool
    /// Whether to add the client's credentials.
    public var authenticate: Bool
    /// Size of an `x-padding` header added to exercise size limits (0 = none).
    public var padding: Int

    /// Creates connect options (defaults: CONNECT, profile version, `0,0`, authenticated, await CONNECTED).
    public init(
        command: String = "CONNECT", acceptVersion: String? = nil, omitAcceptVersion: Bool = false,
        heartBeat: String? = nil, host: String? = nil, headers: [HeaderPair] = [], awaitConnected: Bool = true,
        authenticate: Bool = true, padding: Int = 0
    ) {
        self.padding = padding
        self.command = command
        self.acceptVersion = acceptVersion
        self.omitAcceptVersion = omitAcceptVersion
        self.heartBeat = heartBeat
        self.host = host
        self.headers = headers
        self.awaitConnected = awaitConnected
        self.authenticate = authenticate
    }
}

/// An ordered header pair as written in a fixture.
public struct HeaderPair: Sendable, Hashable {
    /// Name (may contain variables).
    public var name: String
    /// Value (may contain variables).
    public var value: String
    /// Creates a pair.
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// What an expected frame must look like.
public struct FrameExpectation: Sendable, Hashable {
    /// Command (`MESSAGE`, `RECEIPT`, `ERROR`, `CONNECTED`).
    public var command: String
    /// Header matchers, by name.
    public var headers: [HeaderMatch]
    /// Body matcher on the raw body.
    public var body: ValueMatcher?
    /// Matcher on the logical content (the profile's `content_field`, or the whole body).
    public var content: ValueMatcher?
    /// Matchers on JSON fields of the body, by dotted path.
    public var json: [JSONFieldMatch]
    /// Wait limit in seconds; nil = the conversation's default.
    public var within: Double?
    /// Variables to capture from the matched frame.
    public var captures: [Capture]

    /// Creates an expectation.
    public init(
        command: String, headers: [HeaderMatch] = [], body: ValueMatcher? = nil, content: ValueMatcher? = nil,
        json: [JSONFieldMatch] = [], within: Double? = nil, captures: [Capture] = []
    ) {
        self.command = command
        self.headers = headers
        self.body = body
        self.content = content
        self.json = json
        self.within = within
        self.captures = captures
    }
}

/// A header name and its matcher.
public struct HeaderMatch: Sendable, Hashable {
    /// Header name.
    public var name: String
    /// Matcher for its (first) value.
    public var matcher: ValueMatcher
    /// Creates a header match.
    public init(_ name: String, _ matcher: ValueMatcher) {
        self.name = name
        self.matcher = matcher
    }
}

/// A dotted JSON path and its matcher.
public struct JSONFieldMatch: Sendable, Hashable {
    /// Path, e.g. `senderId` or `a.b.0`.
    public var path: String
    /// Matcher for the field's text value.
    public var matcher: ValueMatcher
    /// Creates a field match.
    public init(_ path: String, _ matcher: ValueMatcher) {
        self.path = path
        self.matcher = matcher
    }
}

/// How a header value, body or field is compared. Patterns may contain variables.
public enum ValueMatcher: Sendable, Hashable {
    /// Exactly equal.
    case equals(String)
    /// Matches the regular expression (searched, anchor with `^…$` for a full match).
    case regex(String)
    /// Contains the substring.
    case contains(String)
    /// The header/field is present (any value).
    case present
    /// The header/field is absent.
    case absent
    /// Empty (body) or empty value.
    case empty
    /// Not equal.
    case notEquals(String)
}

/// A variable captured from a matched frame: `${capture.NAME}`.
public struct Capture: Sendable, Hashable {
    /// Variable name.
    public var name: String
    /// Where the value comes from.
    public var source: Source

    /// Capture sources.
    public enum Source: Sendable, Hashable {
        /// A header value.
        case header(String)
        /// A JSON field of the body.
        case jsonField(String)
        /// The whole body.
        case body
    }

    /// Creates a capture.
    public init(name: String, source: Source) {
        self.name = name
        self.source = source
    }
}
