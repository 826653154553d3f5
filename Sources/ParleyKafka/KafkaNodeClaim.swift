import CRdKafka
import Foundation
import Logging
import Synchronization

/// Keeps two live processes from running one chat node id.
///
/// Each node consumes in its own group `parley-<nodeID>`; two processes with the same id would split that group's
/// partitions between them, each missing the other's share of every room, with no error anywhere. Tansu's group
/// descriptions list no members and keep a crashed member's group "stable" indefinitely, so the group itself
/// cannot tell. Instead every node announces itself on the topic `<topic>-nodes` (one partition): a record keyed
/// by its node id naming a random instance id, its PID and host, every ``interval``.
///
/// ``acquire()`` reads that topic from its end for ``window`` after its own first announcement came back; a
/// record of the same node id from another instance that is running (or is starting and has the smaller
/// instance id, so that of two simultaneous starts exactly one goes on) makes it throw
/// ``KafkaNodeIDInUseError``. A crashed process stops announcing at once, so a restart is not refused.
/// Call it before ``KafkaRelay/start(deliveringTo:)``: the group must not be joined by a second process even
/// briefly, or that process would commit offsets for events the first one never saw.
public final class KafkaNodeClaim: Sendable {
    /// The node id claimed.
    public let nodeID: String
    /// The topic the announcements go to: `<relay topic>-nodes`.
    public let topic: String
    /// This process's random instance id.
    public let instance: String
    /// How often a running node announces itself.
    public let interval: Duration
    /// How long ``acquire()`` watches for another instance.
    public let window: Duration

    private let configuration: KafkaRelayConfiguration
    private let logger: Logger
    private let stopAnnouncing = DispatchSemaphore(value: 0)
    private let phase = Mutex(Phase.idle)

    private enum Phase {
        case idle, acquiring, announcing, released
    }

    /// A claim for `configuration`'s node id. `window` should span a few `interval`s, so that a loaded
    /// machine's late announcement is still seen.
    public init(
        configuration: KafkaRelayConfiguration, interval: Duration = .seconds(1), window: Duration = .seconds(3),
        logger: Logger = Logger(label: "parley.kafka")
    ) {
        self.configuration = configuration
        self.nodeID = configuration.nodeID
        self.topic = configuration.topic + "-nodes"
        self.instance = UUID().uuidString.lowercased()
        self.interval = interval
        self.window = window
        self.logger = logger
    }

    /// Creates the topic if missing, announces this instance and watches for another one with the same node id;
    /// once none showed up, announces every ``interval`` until ``release()``.
    ///
    /// Throws ``KafkaNodeIDInUseError``, or a ``KafkaRelayError`` when the broker or the topic is unavailable or
    /// this instance's own announcement does not come back within the start-up timeout.
    public func acquire() async throws {
        try configuration.validate()
        let mayStart = phase.withLock { phase in
            guard case .idle = phase else { return false }
            phase = .acquiring
            return true
        }
        guard mayStart else { throw KafkaRelayError.alreadyStarted }
        let producer: RdKafkaClient
        do {
            producer = try await runOnDedicatedThread(named: "kafka-node-claim") { [self] in try watch() }
        } catch {
            phase.withLock { $0 = .released }
            throw error
        }
        let keepAnnouncing = phase.withLock { phase in
            guard case .acquiring = phase else { return false }
            phase = .announcing
            return true
        }
        guard keepAnnouncing else {
            producer.destroy()
            return
        }
        let thread = Thread { [self] in
            announce(.running, with: producer)
            while stopAnnouncing.wait(timeout: .now() + .milliseconds(interval.milliseconds)) == .timedOut {
                announce(.running, with: producer)
            }
            producer.destroy()
        }
        thread.name = "kafka-node-claim"
        thread.start()
        logger.info("node id \(nodeID) claimed on \(topic) by instance \(instance)")
    }

    /// Stops announcing; a process that starts afterwards with this node id is no longer refused. Idempotent.
    public func release() {
        let wasAnnouncing = phase.withLock { phase -> Bool in
            defer { phase = .released }
            if case .announcing = phase { return true }
            return false
        }
        if wasAnnouncing { stopAnnouncing.signal() }
    }

    /// Blocking: the topic, the watch, and the producer handle that goes on announcing.
    private func watch() throws -> RdKafkaClient {
        var producerProperties = configuration.adminProperties
        producerProperties["linger.ms"] = "0"
        // An announcement that cannot be delivered soon is worthless: a late one would speak for a stopped node.
        producerProperties["message.timeout.ms"] = String(max(1_000, window.milliseconds))
        let limiter = LogRateLimiter()
        let producer = try RdKafkaClient(
            kind: .admin, properties: producerProperties, context: RdKafkaCallbackContext(logger: logger, limiter: limiter))
        do {
            let timeout = configuration.startupTimeout.milliseconds
            if try !producer.topicExists(topic, bootstrapServers: configuration.bootstrapServers, timeoutMilliseconds: timeout) {
                try producer.createTopic(
                    topic, partitions: 1, replicationFactor: configuration.replicationFactor, timeoutMilliseconds: timeout)
            }
            var consumerProperties = configuration.adminProperties
            consumerProperties["fetch.wait.max.ms"] = "50"
            let consumer = try RdKafkaClient(
                kind: .consumer, properties: consumerProperties, context: RdKafkaCallbackContext(logger: logger, limiter: limiter))
            defer { consumer.destroy() }
            try readAnnouncements(consumer: consumer, producer: producer)
            return producer
        } catch {
            producer.destroy()
            throw error
        }
    }

    /// Reads the topic from its end, announcing `starting` every interval, until ``window`` has passed since this
    /// instance's first announcement came back; throws when another instance holds the node id.
    private func readAnnouncements(consumer: RdKafkaClient, producer: RdKafkaClient) throws {
        let topicConfiguration = rd_kafka_topic_conf_new()
        var errorText = [CChar](repeating: 0, count: 256)
        _ = rd_kafka_topic_conf_set(topicConfiguration, "auto.commit.enable", "false", &errorText, errorText.count)
        guard let handle = rd_kafka_topic_new(consumer.handle, topic, topicConfiguration) else {
            throw KafkaRelayError.topicUnavailable(topic: topic, reason: RdKafkaClient.describe(rd_kafka_last_error()))
        }
        defer { rd_kafka_topic_destroy(handle) }
        guard rd_kafka_consume_start(handle, 0, Self.offsetEnd) == 0 else {
            throw KafkaRelayError.topicUnavailable(topic: topic, reason: RdKafkaClient.describe(rd_kafka_last_error()))
        }
        defer { rd_kafka_consume_stop(handle, 0) }

        let giveUp = ContinuousClock.now.advanced(by: configuration.startupTimeout)
        var watchEnds: ContinuousClock.Instant?
        var nextAnnouncement = ContinuousClock.now
        while ContinuousClock.now < (watchEnds ?? giveUp) {
            if ContinuousClock.now >= nextAnnouncement {
                announce(.starting, with: producer)
                nextAnnouncement = ContinuousClock.now.advanced(by: interval)
            }
            guard let message = rd_kafka_consume(handle, 0, 50) else { continue }
            defer { rd_kafka_message_destroy(message) }
            guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR, let payload = message.pointee.payload,
                let other = try? JSONDecoder().decode(
                    Announcement.self, from: Data(bytes: payload, count: message.pointee.len)),
                other.node == nodeID
            else { continue }
            if other.instance == instance {
                if watchEnds == nil { watchEnds = ContinuousClock.now.advanced(by: window) }
            } else if other.state == .running || other.instance < instance {
                throw KafkaNodeIDInUseError(nodeID: nodeID, groupID: configuration.groupID, pid: other.pid, host: other.host)
            }
        }
        if watchEnds == nil {
            throw KafkaRelayError.topicUnavailable(
                topic: topic, reason: "this node's announcement did not come back within \(configuration.startupTimeout)")
        }
    }

    private func announce(_ state: Announcement.State, with producer: RdKafkaClient) {
        let announcement = Announcement(
            node: nodeID, instance: instance, pid: getpid(), host: Self.hostName, state: state)
        guard let value = try? JSONEncoder().encode(announcement), let topicHandle = rd_kafka_topic_new(producer.handle, topic, nil)
        else { return }
        defer { rd_kafka_topic_destroy(topicHandle) }
        let key = Array(nodeID.utf8)
        let result = value.withUnsafeBytes { bytes in
            rd_kafka_produce(
                topicHandle, 0, RD_KAFKA_MSG_F_COPY, UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count,
                key, key.count, nil)
        }
        if result != 0 {
            logger.warning("cannot announce node \(nodeID) on \(topic): \(RdKafkaClient.describe(rd_kafka_last_error()))")
        }
        rd_kafka_poll(producer.handle, 0)
    }

    /// `RD_KAFKA_OFFSET_END`.
    private static let offsetEnd: Int64 = -1

    private static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "" }
        return RdKafkaClient.text(buffer)
    }()

    /// One record on the claims topic.
    struct Announcement: Codable, Sendable {
        enum State: String, Codable, Sendable {
            /// Watching the topic before joining the group.
            case starting
            /// Member of the group.
            case running
        }

        var node: String
        var instance: String
        var pid: Int32
        var host: String
        var state: State
    }
}

/// Another live process runs this chat node id in its consumer group: starting a second would split the group's
/// partitions between them.
public struct KafkaNodeIDInUseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The node id both processes were given.
    public var nodeID: String
    /// Their consumer group.
    public var groupID: String
    /// The other process's PID, as it announced it.
    public var pid: Int32?
    /// The other process's host name, as it announced it.
    public var host: String?

    /// One line naming the other process and the fix.
    public var description: String {
        var holder = "another parley serve"
        if let pid { holder += " (pid \(pid)\(host.map { $0.isEmpty ? "" : " on \($0)" } ?? ""))" }
        return "node id \(nodeID) is already in use: \(holder) runs Kafka consumer group \(groupID); "
            + "give every chat node its own node id (--node-id, or its own --data-dir where the id is generated)"
    }
}
