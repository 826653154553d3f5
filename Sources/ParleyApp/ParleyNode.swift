import Hummingbird
import Logging
import ParleyAccounts
import ParleyAuth
import ParleyServer
import ServiceLifecycle

/// The servers of one Parley process, wired to one token service: the chat server, whose STOMP sessions
/// authenticate with the node's access tokens, and the account REST API on the SQLite store in a data directory,
/// issuing those tokens.
///
/// `parley serve` (``ParleyServe``) runs a node's ``services`` in a `ServiceGroup` that stops on signals;
/// ParleyTesting's `withParleyServer` runs them around a test.
public struct ParleyNode: Sendable {
    /// The token service both servers share.
    public let jwt: JWTService
    /// The chat server, already started; `nil` when the role runs no chat.
    public let chat: ChatServer?
    /// The chat server's bound ports; `nil` when the role runs no chat.
    public let chatPorts: ChatServerPorts?
    /// What to run in a `ServiceGroup`: the chat server (stops on graceful shutdown) and the account API
    /// application (binds when run and reports its port to `onAccountAPIListening`).
    public let services: [any Service]
    /// What this node's readiness depends on: the given checks plus the account store, when it runs.
    public let readiness: [ReadinessCheck]

    /// Builds the servers `role` asks for and starts the chat server, so its ports are known and a relay that
    /// cannot start fails here, before anything else listens.
    ///
    /// - Parameters:
    ///   - chat: The chat server's configuration around the node's authenticator (called only when `role`
    ///     runs chat, so a relay made inside is made only then).
    ///   - account: Where the account API listens and its bcrypt cost.
    ///   - dataDirectory: Holds the account store's SQLite file.
    ///   - readinessChecks: What the account API's `/ready` checks besides its database (the chat relay, say).
    ///   - onAccountAPIListening: Receives the account API's bound port once its service runs.
    ///   - additionalRoutes: Operational routes next to the account API (e.g. `/metrics`).
    public static func start(
        role: ServeRole,
        jwt: JWTService,
        chat: (JWTStompAuthenticator) throws -> ChatServerConfiguration,
        account: AccountServerConfiguration,
        dataDirectory: String,
        logger: Logger,
        readinessChecks: [ReadinessCheck] = [],
        onAccountAPIListening: @escaping @Sendable (Int) async -> Void = { _ in },
        additionalRoutes: (Router<BasicRequestContext>) -> Void = { _ in }
    ) async throws -> ParleyNode {
        var chatServer: ChatServer?
        var chatPorts: ChatServerPorts?
        var services: [any Service] = []
        var readiness = readinessChecks
        if role.runsChat {
            let server = ChatServer(configuration: try chat(JWTStompAuthenticator(service: jwt)), logger: logger)
            chatPorts = try await server.start()
            chatServer = server
            services.append(StartedChatServer(server: server))
        }
        if role.runsAccountAPI {
            do {
                let store = try SQLiteAccountStore(dataDirectory: dataDirectory)
                services.append(
                    try await buildAccountApplication(
                        store: store, jwt: jwt, configuration: account, logger: logger, readinessChecks: readinessChecks,
                        onServerRunning: onAccountAPIListening, additionalRoutes: additionalRoutes))
                readiness.append(.database(store))
            } catch {
                await chatServer?.stop()
                throw error
            }
        }
        return ParleyNode(jwt: jwt, chat: chatServer, chatPorts: chatPorts, services: services, readiness: readiness)
    }
}

/// A chat server already started (so its ports were known before the group ran) that stops on graceful shutdown.
struct StartedChatServer: Service {
    let server: ChatServer

    func run() async throws {
        // Returns when graceful shutdown begins; throws when the group is cancelled. Either way: stop.
        try? await gracefulShutdown()
        await server.stop()
    }
}
