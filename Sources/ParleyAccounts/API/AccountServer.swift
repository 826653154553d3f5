import Foundation
import Hummingbird
import Logging
import ParleyAuth
import ServiceLifecycle

/// Where and how the account HTTP server runs.
public struct AccountServerConfiguration: Sendable, Hashable {
    /// Interface to bind (default loopback).
    public var host: String
    /// TCP port (default 8085; 0 picks a free port).
    public var port: Int
    /// bcrypt cost for new hashes (default 10).
    public var bcryptCost: UInt8
    /// REST API settings.
    public var api: AccountAPIConfiguration

    /// Creates a configuration with the documented defaults.
    public init(host: String = "127.0.0.1", port: Int = 8085, bcryptCost: UInt8 = 10, api: AccountAPIConfiguration = .init()) {
        self.host = host
        self.port = port
        self.bcryptCost = bcryptCost
        self.api = api
    }
}

/// Builds the Hummingbird application serving the account API.
///
/// Besides the API it serves `GET /health` and `GET /ready` (``HealthRoutes``): readiness checks the store
/// (``ReadinessCheck/database(_:)``) and `readinessChecks` (e.g. the chat relay when the same process runs chat).
/// `onServerRunning` receives the bound port (useful with port 0); `additionalRoutes` lets the host process add
/// operational routes (e.g. `/metrics`) next to the API. The application is a `Service`: run it in a
/// `ServiceGroup` (as `parley serve` does) or with ``RunningAccountServer``.
public func buildAccountApplication(
    store: any AccountStore,
    jwt: JWTService,
    configuration: AccountServerConfiguration,
    logger: Logger = Logger(label: "parley.accounts"),
    readinessChecks: [ReadinessCheck] = [],
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in },
    additionalRoutes: (Router<BasicRequestContext>) -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    let api = try await AccountAPI(
        store: store, jwt: jwt, hasher: PasswordHasher(cost: configuration.bcryptCost), configuration: configuration.api)
    let router = Router(context: BasicRequestContext.self)
    api.register(on: router)
    HealthRoutes.register(on: router, readiness: [.database(store)] + readinessChecks)
    additionalRoutes(router)
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "parley-accounts"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}

/// An account server running in this process on its own port: for tests of other modules and for tools.
///
/// ```swift
/// let server = try await RunningAccountServer.start(dataDirectory: tmp)
/// defer { Task { await server.shutdown() } }
/// // server.baseURL, server.jwt, server.store
/// ```
public final class RunningAccountServer: Sendable {
    /// The bound port.
    public let port: Int
    /// `http://host:port`.
    public let baseURL: URL
    /// The token service the server uses (issue tokens for tests without HTTP).
    public let jwt: JWTService
    /// The SQLite store behind the server.
    public let store: SQLiteAccountStore
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(port: Int, baseURL: URL, jwt: JWTService, store: SQLiteAccountStore, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.baseURL = baseURL
        self.jwt = jwt
        self.store = store
        self.group = group
        self.task = task
    }

    /// Starts a server over `dataDirectory` (SQLite file and, unless `secret` is given, the JWT secret file).
    /// Defaults suit tests: a free port on loopback and bcrypt cost 4.
    public static func start(
        dataDirectory: String,
        secret: JWTSecret? = nil,
        configuration: AccountServerConfiguration = .init(port: 0, bcryptCost: 4),
        jwtConfiguration: JWTService.Configuration = .init(),
        logger: Logger = Logger(label: "parley.accounts.test")
    ) async throws -> RunningAccountServer {
        let store = try SQLiteAccountStore(dataDirectory: dataDirectory)
        let secret = try secret ?? JWTSecret.loadOrCreate(inDataDirectory: dataDirectory)
        let jwt = await JWTService(secret: secret, configuration: jwtConfiguration)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let application = try await buildAccountApplication(
            store: store, jwt: jwt, configuration: configuration, logger: logger,
            onServerRunning: { port in portContinuation.yield(port) })
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: application)], gracefulShutdownSignals: [], logger: logger))
        let task = Task {
            defer { portContinuation.finish() }
            try await group.run()
        }
        for await port in ports {
            let url = URL(string: "http://\(configuration.host):\(port)")!
            return RunningAccountServer(port: port, baseURL: url, jwt: jwt, store: store, group: group, task: task)
        }
        // The stream ended without a port: the server failed to start; surface its error.
        try await task.value
        throw CancellationError()
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the server to stop.
    public func shutdown() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}
