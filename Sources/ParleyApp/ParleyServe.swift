import Foundation
import Logging
import ParleyAccounts
import ParleyAuth
import ServiceLifecycle
import UnixSignals

/// Runs the server roles of `parley serve`. Today: the account REST API on the embedded SQLite store.
public enum ParleyServe {
    /// Runs until one of `shutdownSignals` arrives (default SIGTERM and SIGINT), then shuts down gracefully:
    /// the listener closes, in-flight requests finish.
    ///
    /// `onListening` receives the bound account API port (useful with port 0).
    public static func run(
        configuration: ServeConfiguration,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        shutdownSignals: [UnixSignal] = [.sigterm, .sigint],
        logger: Logger = Logger(label: "parley.serve"),
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let secret = try JWTSecret.resolve(
            environment: environment, secretFile: configuration.jwtSecretFile,
            dataDirectory: configuration.dataDirectory)
        let store = try SQLiteAccountStore(dataDirectory: configuration.dataDirectory)
        let jwt = await JWTService(secret: secret)
        logger.info(
            "account store ready",
            metadata: [
                "dataDirectory": "\(configuration.dataDirectory)",
                "jwtSecret": "\(secret.source)",  // where it came from, never the bytes
            ])
        let host = configuration.host
        let application = try await buildAccountApplication(
            store: store, jwt: jwt,
            configuration: AccountServerConfiguration(
                host: host, port: configuration.accountPort, bcryptCost: configuration.bcryptCost),
            logger: logger,
            onServerRunning: { port in
                logger.info("account API listening on http://\(host):\(port)")
                await onListening(port)
            })
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: application)], gracefulShutdownSignals: shutdownSignals, logger: logger))
        try await group.run()
        logger.info("parley serve stopped")
    }

    /// Parses `arguments`/environment and runs; prints a clear message and returns a non-zero exit code on
    /// bad input or startup failure.
    public static func main(
        arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment
    ) async -> Int32 {
        let configuration: ServeConfiguration
        do {
            configuration = try ServeConfiguration.resolve(arguments: arguments, environment: environment)
        } catch {
            FileHandle.standardError.write(Data("parley serve: \(error)\n".utf8))
            return 64  // EX_USAGE
        }
        do {
            try await run(configuration: configuration, environment: environment)
            return 0
        } catch {
            FileHandle.standardError.write(Data("parley serve: \(error)\n".utf8))
            return 1
        }
    }
}
