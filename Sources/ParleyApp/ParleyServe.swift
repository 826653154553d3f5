import Foundation
import Logging
import ParleyAccounts
import ParleyAuth
import ParleyKafka
import ParleyRelay
import ParleyServer
import ServiceLifecycle
import UnixSignals

/// Where a running `parley serve` listens (the bound ports, useful with port 0).
public struct ServeListeners: Sendable, Hashable {
    /// The account REST API port, when the role runs it.
    public var accountPort: Int?
    /// The chat WebSocket port (`/ws/chat`), when the role runs chat.
    public var chatPort: Int?
    /// The STOMP-over-TCP port, when the role runs chat.
    public var stompPort: Int?
    /// The dedicated metrics port, when `--metrics-port` is set.
    public var metricsPort: Int?
}

/// An HTTP listener that reported its bound port.
private enum BoundHTTPListener: Sendable {
    case account(Int)
    case metrics(Int)
}

/// Runs the server roles of `parley serve`: the account REST API on the embedded SQLite store, the chat server
/// (STOMP over WebSocket and TCP) with the in-process relay or the Kafka relay, or both.
public enum ParleyServe {
    /// Runs until one of `shutdownSignals` arrives (default SIGTERM and SIGINT), then shuts down gracefully:
    /// listeners close, chat sessions get an ERROR, in-flight requests finish, the relay drains.
    ///
    /// Holds the data directory's ``DataDirectoryLock`` throughout: a second run on the same directory fails at
    /// once with ``DataDirectoryLockError/held(directory:pid:)``.
    ///
    /// `onListening` runs once every listener of the role is bound.
    public static func run(
        configuration: ServeConfiguration,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        shutdownSignals: [UnixSignal] = [.sigterm, .sigint],
        logger: Logger = Logger(label: "parley.serve"),
        onListening: @escaping @Sendable (ServeListeners) async -> Void = { _ in }
    ) async throws {
        // Before anything reads or writes the directory: one process per data directory (node id, secret, store).
        let lock = try DataDirectoryLock.acquire(configuration.dataDirectory)
        defer { lock.release() }
        let secret = try JWTSecret.resolve(
            environment: environment, secretFile: configuration.jwtSecretFile,
            dataDirectory: configuration.dataDirectory)
        let jwt = await JWTService(secret: secret)
        ServeMetrics.bootstrap()
        logger.info(
            "starting parley serve",
            metadata: [
                "role": "\(configuration.role.rawValue)", "dataDirectory": "\(configuration.dataDirectory)",
                "jwtSecret": "\(secret.source)",  // where it came from, never the bytes
            ])
        let host = configuration.host
        // HTTP listeners report their ports asynchronously; `onListening` waits for all of them.
        let (bound, boundContinuation) = AsyncStream.makeStream(of: BoundHTTPListener.self)
        // A chat node on Kafka claims its node id before its relay joins the node's group: a second process with the
        // same id must not get into it even briefly.
        let kafka = configuration.role.runsChat ? try kafkaConfiguration(configuration) : nil
        let claim = kafka.map { KafkaNodeClaim(configuration: $0, logger: logger) }
        defer { claim?.release() }
        try await claim?.acquire()
        let relay = configuration.role.runsChat ? makeRelay(kafka, logger: logger) : nil
        // `/ready` checks what the role runs: the relay (chat), the database (account API).
        let relayChecks = relay.map { [ReadinessCheck.relay($0)] } ?? []
        let gauges = relay.map(RelayGauges.init(relay:))
        let refreshGauges: @Sendable () -> Void = { gauges?.update() }
        // Chat starts first: a relay that cannot start (Kafka unreachable) must stop start-up before anything listens.
        let node = try await ParleyNode.start(
            role: configuration.role, jwt: jwt,
            chat: { authenticator in
                ChatServerConfiguration(
                    host: host, wsPort: configuration.chatPort, tcpPort: configuration.stompPort,
                    broker: configuration.broker, relay: relay ?? InProcessRelay(), authenticator: authenticator)
            },
            account: AccountServerConfiguration(
                host: host, port: configuration.accountPort, bcryptCost: configuration.bcryptCost),
            dataDirectory: configuration.dataDirectory, logger: logger, readinessChecks: relayChecks,
            onAccountAPIListening: { port in
                logger.info("account API listening on http://\(host):\(port) (/metrics, /health, /ready)")
                boundContinuation.yield(.account(port))
            },
            additionalRoutes: { ServeMetrics.addRoute(to: $0, beforeEmit: refreshGauges) })
        var listeners = ServeListeners()
        if let ports = node.chatPorts {
            listeners.chatPort = ports.webSocket
            listeners.stompPort = ports.tcp
            logger.info("chat listening on ws://\(host):\(ports.webSocket ?? 0)/ws/chat and stomp://\(host):\(ports.tcp ?? 0)")
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = node.services.map { .init(service: $0) }
        var httpListeners = configuration.role.runsAccountAPI ? 1 : 0
        if let metricsPort = configuration.metricsPort {
            let application = ServeMetrics.application(
                host: host, port: metricsPort, readiness: node.readiness, beforeEmit: refreshGauges
            ) { port in
                logger.info("metrics listening on http://\(host):\(port)/metrics (and /health, /ready)")
                boundContinuation.yield(.metrics(port))
            }
            services.append(.init(service: application))
            httpListeners += 1
        }

        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: shutdownSignals, logger: logger))
        let chatListeners = listeners
        let expected = httpListeners
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { boundContinuation.finish() }
                try await group.run()
            }
            tasks.addTask {
                var ready = chatListeners
                var remaining = expected
                if remaining == 0 { await onListening(ready) }
                for await listener in bound where remaining > 0 {
                    switch listener {
                    case .account(let port): ready.accountPort = port
                    case .metrics(let port): ready.metricsPort = port
                    }
                    remaining -= 1
                    if remaining == 0 { await onListening(ready) }
                }
            }
            try await tasks.waitForAll()
        }
        logger.info("parley serve stopped")
    }

    /// The Kafka relay's settings when `--kafka` is set, else nil. A librdkafka older than 2.2 is refused here,
    /// naming the fix.
    ///
    /// With Kafka every node consumes in its own group `parley-<node id>`, so each node sees every event and a
    /// restarted node resumes where it left off.
    static func kafkaConfiguration(_ configuration: ServeConfiguration) throws -> KafkaRelayConfiguration? {
        guard let bootstrapServers = configuration.kafka else { return nil }
        try LibrdkafkaVersion.check()
        let nodeID = try configuration.nodeID ?? NodeIdentity.stored(in: configuration.dataDirectory)
        var kafka = KafkaRelayConfiguration(bootstrapServers: bootstrapServers, nodeID: nodeID)
        kafka.topic = configuration.kafkaTopic
        kafka.partitions = configuration.kafkaPartitions
        return kafka
    }

    /// The relay for this node: Kafka when configured, else the in-process relay.
    static func makeRelay(_ kafka: KafkaRelayConfiguration?, logger: Logger) -> any ChatRelay {
        guard let kafka else { return InProcessRelay() }
        logger.info(
            "chat relay: Kafka",
            metadata: ["bootstrap": "\(kafka.bootstrapServers)", "topic": "\(kafka.topic)", "group": "\(kafka.groupID)"])
        return KafkaRelay(configuration: kafka, logger: logger)
    }

    /// Parses `arguments`/environment and runs; prints a clear message and returns a non-zero exit code on
    /// bad input or startup failure.
    public static func main(
        arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment
    ) async -> Int32 {
        await main(environment: environment) { try ServeConfiguration.resolve(arguments: arguments, environment: environment) }
    }

    /// Like ``main(arguments:environment:)`` for callers that parsed the flags already (`parley serve`):
    /// `flags` maps setting names (see ``ServeConfiguration/settings``) to values and wins over the environment.
    public static func main(
        flags: [String: String], environment: [String: String] = ProcessInfo.processInfo.environment
    ) async -> Int32 {
        await main(environment: environment) { try ServeConfiguration.resolve(flags: flags, environment: environment) }
    }

    private static func main(
        environment: [String: String], resolve: () throws -> ServeConfiguration
    ) async -> Int32 {
        let configuration: ServeConfiguration
        do {
            configuration = try resolve()
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
