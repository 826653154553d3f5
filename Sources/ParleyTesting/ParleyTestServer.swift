import Foundation
import Logging
import ParleyAccounts
import ParleyApp
import ParleyAuth
import ParleyBroker
import ParleyClient
import ParleyProfiles
import ParleyRelay
import ParleyServer
import ServiceLifecycle

/// Runs `body` against a Parley started for it, then stops it, also when `body` throws or the task is cancelled.
///
/// By default the server runs the account REST API (on a fresh SQLite file in a temporary directory, deleted
/// afterwards, bcrypt cost 4) and the chat server on STOMP over TCP and over WebSocket, all on free ports on
/// 127.0.0.1, sharing one known JWT secret (``ParleyTestServer/Options/secret``). It is wired like `parley serve`
/// (``ParleyApp/ParleyNode``), without signal handling or metrics.
///
/// ```swift
/// try await withParleyServer { server in
///     let alice = try await server.connect("alice", over: .tcp)
///     …
///     #expect(server.broker.statistics.authenticationFailures.value == 0)
/// }
/// ```
public func withParleyServer<T>(
    _ options: ParleyTestServer.Options = .init(),
    isolation: isolated (any Actor)? = #isolation,
    _ body: (ParleyTestServer) async throws -> T
) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parley-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let jwt = await JWTService(secret: try JWTSecret(bytes: options.secret))
    let host = ParleyTestServer.host
    let (accountPorts, accountPortContinuation) = AsyncStream.makeStream(of: Int.self)
    let node = try await ParleyNode.start(
        role: options.role, jwt: jwt,
        chat: { authenticator in
            ChatServerConfiguration(
                host: host, wsPort: options.webSocketPort, tcpPort: options.tcpPort, broker: options.broker,
                relay: options.relay ?? InProcessRelay(), authenticator: authenticator,
                maxWebSocketFrameSize: options.maxWebSocketFrameSize)
        },
        account: AccountServerConfiguration(host: host, port: options.accountPort, bcryptCost: options.bcryptCost),
        dataDirectory: directory.path, logger: options.logger,
        onAccountAPIListening: { accountPortContinuation.yield($0) })
    let group = ServiceGroup(
        configuration: .init(
            services: node.services.map { .init(service: $0) }, gracefulShutdownSignals: [], logger: options.logger))
    return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { tasks in
        tasks.addTask {
            defer { accountPortContinuation.finish() }
            try await group.run()
        }
        let outcome: Result<T, any Error>
        do {
            var accountPort: Int?
            if options.role.runsAccountAPI {
                var ports = accountPorts.makeAsyncIterator()
                accountPort = await ports.next()
                if accountPort == nil {
                    // The group ended before the account API listened: its error says why.
                    try await tasks.waitForAll()
                    throw ParleyTestServerError(description: "the account API stopped before it listened")
                }
            }
            let server = ParleyTestServer(
                options: options, jwt: jwt, dataDirectory: directory.path, chatServer: node.chat,
                chatPorts: node.chatPorts, accountPortIfRunning: accountPort)
            outcome = .success(try await body(server))
        } catch {
            outcome = .failure(error)
        }
        await group.triggerGracefulShutdown()
        do {
            try await tasks.waitForAll()
        } catch {
            // The body's own failure is the more useful one to report.
            _ = try outcome.get()
            throw error
        }
        return try outcome.get()
    }
}

/// Runs `body` against one Parley per entry of `options` (a cluster: give each node its own relay, e.g. a
/// `KafkaRelay`, and the same secret), started in order and stopped in reverse, also when `body` throws.
public func withParleyServers<T>(
    _ options: [ParleyTestServer.Options],
    isolation: isolated (any Actor)? = #isolation,
    _ body: ([ParleyTestServer]) async throws -> T
) async throws -> T {
    func start(_ index: Int, _ started: [ParleyTestServer]) async throws -> T {
        guard index < options.count else { return try await body(started) }
        return try await withParleyServer(options[index]) { server in try await start(index + 1, started + [server]) }
    }
    return try await start(0, [])
}

/// A server of ``withParleyServer(_:isolation:_:)`` that could not start.
public struct ParleyTestServerError: Error, CustomStringConvertible, Sendable {
    /// What went wrong.
    public var description: String
}

/// A Parley running for the duration of a ``withParleyServer(_:isolation:_:)`` body: where it listens, its token
/// service and broker, and helpers to mint tokens, create accounts and connect clients.
///
/// Accessors of a part the ``Options/role`` did not start, or of a listener the options disabled, trap
/// with a message saying so: that is a mistake in the test, not a runtime condition.
public struct ParleyTestServer: Sendable {
    /// The interface every listener binds to.
    public static let host = "127.0.0.1"

    /// What a test may vary about the server.
    public struct Options: Sendable {
        /// The secret used unless a test sets its own: 32 known bytes, so tests and tools can mint tokens.
        public static let defaultSecret: [UInt8] = Array("parley-testing-known-jwt-secret!".utf8)

        /// Which parts run: `.all` (account API and chat), `.chat` or `.account`.
        public var role: ServeRole
        /// The broker's limits, timeouts and heart-beats.
        public var broker: BrokerConfiguration
        /// The chat relay; `nil` makes a fresh in-process relay. The server starts it and shuts it down, so a
        /// relay given here serves one server only.
        public var relay: (any ChatRelay)?
        /// The JWT secret (at least 32 bytes) both parts share; several servers with one secret accept each
        /// other's tokens.
        public var secret: [UInt8]
        /// The STOMP-over-WebSocket port (`/ws/chat`); `0` picks a free port, `nil` disables the listener.
        public var webSocketPort: Int?
        /// The STOMP-over-TCP port; `0` picks a free port, `nil` disables the listener.
        public var tcpPort: Int?
        /// The account API port; `0` picks a free port.
        public var accountPort: Int
        /// The largest WebSocket frame the chat server accepts.
        public var maxWebSocketFrameSize: Int
        /// bcrypt cost of new password hashes (4, the minimum, keeps sign-ups fast).
        public var bcryptCost: UInt8
        /// Where the servers log; by default warnings and errors only.
        public var logger: Logger

        /// Creates options; the defaults run everything on free ports with the in-process relay.
        public init(
            role: ServeRole = .all,
            broker: BrokerConfiguration = BrokerConfiguration(),
            relay: (any ChatRelay)? = nil,
            secret: [UInt8] = Options.defaultSecret,
            webSocketPort: Int? = 0,
            tcpPort: Int? = 0,
            accountPort: Int = 0,
            maxWebSocketFrameSize: Int = 1 << 20,
            bcryptCost: UInt8 = 4,
            logger: Logger = Options.quietLogger
        ) {
            self.role = role
            self.broker = broker
            self.relay = relay
            self.secret = secret
            self.webSocketPort = webSocketPort
            self.tcpPort = tcpPort
            self.accountPort = accountPort
            self.maxWebSocketFrameSize = maxWebSocketFrameSize
            self.bcryptCost = bcryptCost
            self.logger = logger
        }

        /// A logger that shows warnings and errors only, so passing tests stay quiet.
        public static var quietLogger: Logger {
            var logger = Logger(label: "parley.testing")
            logger.logLevel = .warning
            return logger
        }
    }

    /// A chat transport.
    public enum Transport: String, Sendable, Hashable, CaseIterable {
        /// STOMP over plain TCP.
        case tcp
        /// STOMP over WebSocket at `/ws/chat`.
        case webSocket
    }

    /// An account created through the account API, logged in.
    public struct User: Sendable, Hashable {
        /// The login id it signed up with.
        public var loginID: String
        /// The account's id: the tokens' subject, the principal in chat (`senderId`, `receiverId`).
        public var id: String
        /// The access token (for CONNECT).
        public var accessToken: String
        /// The refresh token.
        public var refreshToken: String?
    }

    /// The options the server was started with.
    public let options: Options
    /// The token service both parts use: mint tokens without HTTP.
    public let jwt: JWTService
    /// The temporary directory holding the account store (deleted when the server stops).
    public let dataDirectory: String
    private let chatServer: ChatServer?
    private let chatPorts: ChatServerPorts?
    private let accountPortIfRunning: Int?

    fileprivate init(
        options: Options, jwt: JWTService, dataDirectory: String, chatServer: ChatServer?, chatPorts: ChatServerPorts?,
        accountPortIfRunning: Int?
    ) {
        self.options = options
        self.jwt = jwt
        self.dataDirectory = dataDirectory
        self.chatServer = chatServer
        self.chatPorts = chatPorts
        self.accountPortIfRunning = accountPortIfRunning
    }

    /// The JWT secret's bytes.
    public var secret: [UInt8] { options.secret }

    /// The chat server (for its statistics, or to stop it early: stopping twice is harmless).
    public var chat: ChatServer { required(chatServer, "the chat server (role \(options.role))") }
    /// The chat server's broker (`broker.statistics`, `broker.sessionCount`).
    public var broker: StompBroker { chat.broker }
    /// The STOMP-over-TCP port.
    public var tcpPort: Int { required(chatPorts?.tcp, "the TCP listener") }
    /// The STOMP-over-WebSocket port.
    public var webSocketPort: Int { required(chatPorts?.webSocket, "the WebSocket listener") }
    /// The account API port.
    public var accountPort: Int { required(accountPortIfRunning, "the account API (role \(options.role))") }

    /// `tcp://127.0.0.1:<port>`.
    public var tcpURL: String { "tcp://\(Self.host):\(tcpPort)" }
    /// `ws://127.0.0.1:<port>/ws/chat`.
    public var webSocketURL: String { "ws://\(Self.host):\(webSocketPort)/ws/chat" }
    /// `http://127.0.0.1:<port>`, the account API's base URL.
    public var accountURL: URL { URL(string: "http://\(Self.host):\(accountPort)")! }

    /// Where a client reaches the chat server over `transport`.
    public func endpoint(_ transport: Transport) -> StompEndpoint {
        switch transport {
        case .tcp: .tcp(host: Self.host, port: tcpPort)
        case .webSocket: .webSocket(host: Self.host, port: webSocketPort, path: "/ws/chat")
        }
    }

    /// A fresh access token whose subject (the chat principal) is `user`, minted without the account API.
    public func accessToken(for user: String) async throws -> String {
        try await jwt.issue(.access, subject: user).token
    }

    /// Connects as `user` (with a fresh access token as `Authorization: Bearer`) over `transport`; `options`
    /// supplies everything else (host `/`, no heart-beats unless given).
    public func connect(
        _ user: String, over transport: Transport = .webSocket,
        options: StompClient.Options = StompClient.Options(host: "/")
    ) async throws -> StompClient {
        var options = options
        options.bearerToken = try await accessToken(for: user)
        return try await StompClient.connect(to: endpoint(transport), options: options)
    }

    /// Signs `loginID` up through the account API (an existing account is fine) and logs it in.
    public func signUpAndLogIn(_ loginID: String, password: String = "passw0rd!") async throws -> User {
        let client = try AccountAPIClient(settings: .parley, baseURL: accountURL)
        let tokens = try await client.signUpAndLogIn(login: loginID, username: loginID, password: password)
        let subject = try await jwt.verify(tokens.accessToken, as: .access).subject
        return User(loginID: loginID, id: subject, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken)
    }

    private func required<Value>(_ value: Value?, _ what: String) -> Value {
        guard let value else { preconditionFailure("withParleyServer: \(what) is not running; check its Options") }
        return value
    }
}
