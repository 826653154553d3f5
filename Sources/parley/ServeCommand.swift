import ArgumentParser
import Foundation
import ParleyApp

/// `parley serve`: runs the account REST API and the chat server (or one of them) until SIGINT/SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Parley server: account REST API (8085) and chat over WebSocket (8084) and TCP (61613).",
        discussion: """
            Every option also reads an environment variable (the option wins): PARLEY_ROLE, PARLEY_DATA_DIR, \
            PARLEY_HOST, PARLEY_ACCOUNT_PORT, PARLEY_CHAT_PORT, PARLEY_STOMP_PORT, PARLEY_JWT_SECRET_FILE, \
            PARLEY_BCRYPT_COST, PARLEY_KAFKA, PARLEY_KAFKA_TOPIC, PARLEY_KAFKA_PARTITIONS, PARLEY_NODE_ID, PARLEY_METRICS_PORT, \
            PARLEY_ALLOW_CLIENT_TOPIC_SENDS, PARLEY_SESSION_MEMORY_BUDGET, PARLEY_NODE_MEMORY_BUDGET, PARLEY_FRAME_TIMEOUT. \
            The JWT secret comes from PARLEY_JWT_SECRET (at least 32 bytes) or --jwt-secret-file; without either \
            one is generated once and kept in the data directory (mode 0600), so restarts keep tokens valid. \
            Nodes sharing one conversation through Kafka need the same secret.
            """
    )

    @Option(help: "Which services to run: all, account or chat. Default all")
    var role: String?
    @Option(name: .customLong("data-dir"), help: "Data directory (SQLite, generated JWT secret, node id). Default ./.data")
    var dataDirectory: String?
    @Option(help: "Interface to bind. Default 127.0.0.1")
    var host: String?
    @Option(name: .customLong("account-port"), help: "Account REST API port. Default 8085")
    var accountPort: String?
    @Option(name: .customLong("chat-port"), help: "Chat WebSocket port (path /ws/chat). Default 8084")
    var chatPort: String?
    @Option(name: .customLong("stomp-port"), help: "STOMP over TCP port. Default 61613")
    var stompPort: String?
    @Option(name: .customLong("jwt-secret-file"), help: "File holding the JWT secret (at least 32 bytes).")
    var jwtSecretFile: String?
    @Option(name: .customLong("bcrypt-cost"), help: "bcrypt cost for new password hashes (4...31). Default 10")
    var bcryptCost: String?
    @Option(help: "Kafka bootstrap servers HOST:PORT[,…]: relay chat through Kafka so several nodes share rooms.")
    var kafka: String?
    @Option(name: .customLong("kafka-topic"), help: "Kafka topic for chat events. Default chat-message")
    var kafkaTopic: String?
    @Option(name: .customLong("kafka-partitions"), help: "Partitions when Parley creates the topic. Default 3")
    var kafkaPartitions: String?
    @Option(name: .customLong("node-id"), help: "This chat node's id (Kafka group parley-<id>). Default: kept in the data dir")
    var nodeID: String?
    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus /metrics on this port too (chat-only nodes).")
    var metricsPort: String?
    @Option(name: .customLong("allow-client-topic-sends"), help: "Let clients SEND straight to non-room /topic/... (true/false). Default false")
    var allowClientTopicSends: String?
    @Option(name: .customLong("session-memory-budget"), help: "Bytes one session may hold (outbound, unacked, transactions, partial frame). Default 16MiB")
    var sessionMemoryBudget: String?
    @Option(name: .customLong("node-memory-budget"), help: "Bytes all sessions may hold together. Default 1GiB")
    var nodeMemoryBudget: String?
    @Option(name: .customLong("frame-timeout"), help: "Seconds a frame may take to arrive once begun. Default 30")
    var frameTimeout: String?

    func run() async throws {
        let flags: [String: String?] = [
            "role": role, "data-dir": dataDirectory, "host": host, "account-port": accountPort,
            "chat-port": chatPort, "stomp-port": stompPort, "jwt-secret-file": jwtSecretFile,
            "bcrypt-cost": bcryptCost, "kafka": kafka, "kafka-topic": kafkaTopic,
            "kafka-partitions": kafkaPartitions, "node-id": nodeID, "metrics-port": metricsPort,
            "allow-client-topic-sends": allowClientTopicSends, "session-memory-budget": sessionMemoryBudget,
            "node-memory-budget": nodeMemoryBudget, "frame-timeout": frameTimeout,
        ]
        let status = await ParleyServe.main(flags: flags.compactMapValues { $0 })
        if status != 0 { throw ExitCode(status) }
    }
}
