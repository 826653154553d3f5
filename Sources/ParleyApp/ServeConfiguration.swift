import Foundation
import ParleyBroker
import ParleyAccounts

/// Which parts of Parley one `parley serve` process runs. The original app ran them as two services.
public enum ServeRole: String, Sendable, Hashable, CaseIterable {
    /// Account REST API and chat server together (the default).
    case all
    /// Only the account REST API.
    case account
    /// Only the chat server (STOMP over WebSocket and TCP).
    case chat

    /// Whether this role serves the account API.
    public var runsAccountAPI: Bool { self != .chat }
    /// Whether this role serves chat.
    public var runsChat: Bool { self != .account }
}

/// Settings of `parley serve`, from flags and environment variables (flags win).
///
/// | setting | flag | environment | default |
/// |---|---|---|---|
/// | role | `--role` | `PARLEY_ROLE` | `all` (`account`, `chat`) |
/// | data directory | `--data-dir` | `PARLEY_DATA_DIR` | `./.data` |
/// | bind host | `--host` | `PARLEY_HOST` | `127.0.0.1` |
/// | account API port | `--account-port` | `PARLEY_ACCOUNT_PORT` | `8085` |
/// | chat WebSocket port (`/ws/chat`) | `--chat-port` | `PARLEY_CHAT_PORT` | `8084` |
/// | STOMP over TCP port | `--stomp-port` | `PARLEY_STOMP_PORT` | `61613` |
/// | JWT secret file | `--jwt-secret-file` | `PARLEY_JWT_SECRET_FILE` | none |
/// | bcrypt cost | `--bcrypt-cost` | `PARLEY_BCRYPT_COST` | `10` |
/// | Kafka bootstrap servers | `--kafka` | `PARLEY_KAFKA` | none: in-process relay |
/// | Kafka topic | `--kafka-topic` | `PARLEY_KAFKA_TOPIC` | `chat-message` |
/// | Kafka topic partitions | `--kafka-partitions` | `PARLEY_KAFKA_PARTITIONS` | `3` |
/// | node id (Kafka consumer group `parley-<id>`) | `--node-id` | `PARLEY_NODE_ID` | generated once, kept in the data directory |
/// | dedicated Prometheus `/metrics` port | `--metrics-port` | `PARLEY_METRICS_PORT` | none (the account API serves `/metrics`) |
///
/// The secret itself may come from `PARLEY_JWT_SECRET` (never from a flag, which `ps` would show).
public struct ServeConfiguration: Sendable, Hashable {
    /// Which services to run.
    public var role: ServeRole
    /// Where SQLite, the generated JWT secret and the node id live.
    public var dataDirectory: String
    /// Interface to bind.
    public var host: String
    /// Account REST API port (0 picks a free port).
    public var accountPort: Int
    /// Chat WebSocket port (0 picks a free port).
    public var chatPort: Int
    /// STOMP-over-TCP port (0 picks a free port).
    public var stompPort: Int
    /// File holding the JWT secret, if not from the environment.
    public var jwtSecretFile: String?
    /// bcrypt cost for new password hashes.
    public var bcryptCost: UInt8
    /// Kafka bootstrap servers (`HOST:PORT[,HOST:PORT]`); `nil` keeps the in-process relay.
    public var kafka: String?
    /// Kafka topic carrying chat events.
    public var kafkaTopic: String
    /// Partitions of the topic when Parley creates it.
    public var kafkaPartitions: Int
    /// This chat node's id; `nil` means the one stored in the data directory (generated on first start).
    public var nodeID: String?
    /// A port serving only `/metrics` (for chat-only nodes); `nil` for none.
    public var metricsPort: Int?
    /// Session limits and budgets of the chat broker (docs/operations.md lists each with what a client sees).
    public var broker = BrokerConfiguration()

    /// Creates a configuration with the documented defaults.
    public init(
        role: ServeRole = .all, dataDirectory: String = "./.data", host: String = "127.0.0.1",
        accountPort: Int = 8085, chatPort: Int = 8084, stompPort: Int = 61613, jwtSecretFile: String? = nil,
        bcryptCost: UInt8 = 10, kafka: String? = nil, kafkaTopic: String = "chat-message", kafkaPartitions: Int = 3,
        nodeID: String? = nil, metricsPort: Int? = nil
    ) {
        self.role = role
        self.dataDirectory = dataDirectory
        self.host = host
        self.accountPort = accountPort
        self.chatPort = chatPort
        self.stompPort = stompPort
        self.jwtSecretFile = jwtSecretFile
        self.bcryptCost = bcryptCost
        self.kafka = kafka
        self.kafkaTopic = kafkaTopic
        self.kafkaPartitions = kafkaPartitions
        self.nodeID = nodeID
        self.metricsPort = metricsPort
    }

    /// Every setting: its flag (without `--`) and environment variable.
    public static let settings: [(flag: String, environment: String)] = [
        ("role", "PARLEY_ROLE"), ("data-dir", "PARLEY_DATA_DIR"), ("host", "PARLEY_HOST"),
        ("account-port", "PARLEY_ACCOUNT_PORT"), ("chat-port", "PARLEY_CHAT_PORT"),
        ("stomp-port", "PARLEY_STOMP_PORT"), ("jwt-secret-file", "PARLEY_JWT_SECRET_FILE"),
        ("bcrypt-cost", "PARLEY_BCRYPT_COST"), ("kafka", "PARLEY_KAFKA"), ("kafka-topic", "PARLEY_KAFKA_TOPIC"),
        ("kafka-partitions", "PARLEY_KAFKA_PARTITIONS"), ("node-id", "PARLEY_NODE_ID"),
        ("metrics-port", "PARLEY_METRICS_PORT"),
        ("allow-client-topic-sends", "PARLEY_ALLOW_CLIENT_TOPIC_SENDS"),
        ("session-memory-budget", "PARLEY_SESSION_MEMORY_BUDGET"), ("node-memory-budget", "PARLEY_NODE_MEMORY_BUDGET"),
        ("frame-timeout", "PARLEY_FRAME_TIMEOUT"),
    ]

    /// Reads the environment, then the flags (`--name value` or `--name=value`).
    public static func resolve(arguments: [String], environment: [String: String]) throws(ServeConfigurationError)
        -> ServeConfiguration
    {
        var flags: [String: String] = [:]
        let known = Set(settings.map(\.flag))
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            guard argument.hasPrefix("--") else { throw .unexpectedArgument(argument) }
            var name = String(argument.dropFirst(2))
            let value: String
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            } else {
                guard let next = remaining.popFirst() else { throw .missingValue(flag: "--\(name)") }
                value = next
            }
            guard known.contains(name) else { throw .unknownFlag("--\(name)") }
            flags[name] = value
        }
        return try resolve(flags: flags, environment: environment)
    }

    /// Resolves already-parsed flag values (keyed by flag name without `--`) over the environment.
    public static func resolve(flags: [String: String], environment: [String: String]) throws(ServeConfigurationError)
        -> ServeConfiguration
    {
        var values: [String: String] = [:]
        for (flag, variable) in settings {
            if let value = environment[variable], !value.isEmpty { values[flag] = value }
        }
        values.merge(flags) { _, flag in flag }
        return try resolve(values: values)
    }

    /// Builds a configuration from setting values keyed by flag name (without `--`), validating each.
    public static func resolve(values: [String: String]) throws(ServeConfigurationError) -> ServeConfiguration {
        var configuration = ServeConfiguration()
        if let value = values["role"] {
            guard let role = ServeRole(rawValue: value) else {
                throw .invalidValue(setting: "role", value: value, expected: "all, account or chat")
            }
            configuration.role = role
        }
        if let value = values["data-dir"] { configuration.dataDirectory = value }
        if let value = values["host"] { configuration.host = value }
        configuration.accountPort = try port(values["account-port"], "account port", default: configuration.accountPort)
        configuration.chatPort = try port(values["chat-port"], "chat port", default: configuration.chatPort)
        configuration.stompPort = try port(values["stomp-port"], "STOMP port", default: configuration.stompPort)
        configuration.jwtSecretFile = values["jwt-secret-file"]
        if let value = values["bcrypt-cost"] {
            guard let cost = UInt8(value), PasswordHasher.allowedCosts.contains(cost) else {
                throw .invalidValue(setting: "bcrypt cost", value: value, expected: "4...31")
            }
            configuration.bcryptCost = cost
        }
        if let value = values["kafka"] {
            let brokers = value.split(separator: ",")
            guard !brokers.isEmpty, brokers.allSatisfy({ hostPort($0) }) else {
                throw .invalidValue(setting: "Kafka bootstrap servers", value: value, expected: "HOST:PORT[,HOST:PORT…]")
            }
            configuration.kafka = value
        }
        if let value = values["kafka-topic"] {
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
            guard !value.isEmpty, value.count <= 249, value.allSatisfy(allowed.contains) else {
                throw .invalidValue(setting: "Kafka topic", value: value, expected: "1-249 of [A-Za-z0-9._-]")
            }
            configuration.kafkaTopic = value
        }
        if let value = values["kafka-partitions"] {
            guard let partitions = Int(value), (1...1024).contains(partitions) else {
                throw .invalidValue(setting: "Kafka partitions", value: value, expected: "1...1024")
            }
            configuration.kafkaPartitions = partitions
        }
        if let value = values["node-id"] {
            guard NodeIdentity.isValid(value) else {
                throw .invalidValue(setting: "node id", value: value, expected: NodeIdentity.allowedDescription)
            }
            configuration.nodeID = value
        }
        if values["metrics-port"] != nil {
            configuration.metricsPort = try port(values["metrics-port"], "metrics port", default: 0)
        }
        if let value = values["allow-client-topic-sends"] {
            switch value.lowercased() {
            case "true", "1", "yes": configuration.broker.allowClientTopicSends = true
            case "false", "0", "no": configuration.broker.allowClientTopicSends = false
            default: throw .invalidValue(setting: "allow-client-topic-sends", value: value, expected: "true or false")
            }
        }
        if let value = values["session-memory-budget"] {
            configuration.broker.sessionMemoryBudget = try bytes(value, "session memory budget", at: 64 << 10)
        }
        if let value = values["node-memory-budget"] {
            configuration.broker.nodeMemoryBudget = try bytes(value, "node memory budget", at: 1 << 20)
        }
        if let value = values["frame-timeout"] {
            guard let seconds = Double(value), seconds > 0, seconds <= 3600 else {
                throw .invalidValue(setting: "frame timeout", value: value, expected: "seconds, > 0 and ≤ 3600")
            }
            configuration.broker.frameCompletionTimeout = .nanoseconds(Int64(seconds * 1e9))
        }
        return configuration
    }

    /// A byte count: digits with an optional `KiB`, `MiB` or `GiB` suffix, at least `minimum`.
    private static func bytes(_ value: String, _ setting: String, at minimum: Int) throws(ServeConfigurationError) -> Int {
        let units: [(String, Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("", 1)]
        for (suffix, scale) in units where value.hasSuffix(suffix) {
            if let number = Int(value.dropLast(suffix.count)), number > 0, number <= Int.max / scale, number * scale >= minimum {
                return number * scale
            }
            break
        }
        throw .invalidValue(setting: setting, value: value, expected: "bytes (e.g. 16MiB, 1GiB), at least \(minimum)")
    }

    private static func port(_ value: String?, _ setting: String, default fallback: Int) throws(ServeConfigurationError) -> Int {
        guard let value else { return fallback }
        guard let port = Int(value), (0...65535).contains(port) else {
            throw .invalidValue(setting: setting, value: value, expected: "0...65535")
        }
        return port
    }

    private static func hostPort(_ text: Substring) -> Bool {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex,
            let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port)
        else { return false }
        return true
    }
}

/// A flag or environment variable `parley serve` cannot use.
public enum ServeConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A flag that does not exist.
    case unknownFlag(String)
    /// A flag at the end without its value.
    case missingValue(flag: String)
    /// A positional argument.
    case unexpectedArgument(String)
    /// A value out of range.
    case invalidValue(setting: String, value: String, expected: String)

    /// A message for the operator.
    public var description: String {
        switch self {
        case .unknownFlag(let flag): "unknown option \(flag)"
        case .missingValue(let flag): "option \(flag) needs a value"
        case .unexpectedArgument(let argument): "unexpected argument \(argument)"
        case .invalidValue(let setting, let value, let expected): "invalid \(setting) '\(value)': expected \(expected)"
        }
    }
}
