import Foundation
import ParleyAuth
import ParleyClient
import ParleyCodec
import ParleyKafka
import ParleyRelay
import ParleyTesting
import Testing

/// Every cluster test runs one after the other: each starts its own Tansu and chat nodes, and on a 2-core
/// machine running the rest of `swift test` alongside, parallel clusters would only measure contention.
@Suite(.serialized, .timeLimit(.minutes(2))) struct KafkaClusterTests {}

/// One chat node: a chat-only Parley relaying through its own `KafkaRelay`, on random loopback ports.
struct ChatNode: Sendable {
    let id: String
    let relay: KafkaRelay
    let server: ParleyTestServer

    /// Relay settings for tests: a 2 s session timeout keeps group joins near a second; fetches return at once.
    static func relayConfiguration(broker: TansuBroker, nodeID: String) -> KafkaRelayConfiguration {
        var configuration = KafkaRelayConfiguration(bootstrapServers: broker.bootstrapServers, nodeID: nodeID)
        configuration.sessionTimeout = .seconds(2)
        configuration.fetchWaitMax = .milliseconds(5)
        // Generous: a 2-core machine running other suites can stall start-up for seconds.
        configuration.startupTimeout = .seconds(20)
        return configuration
    }

    /// The node's WebSocket endpoint.
    var webSocket: StompEndpoint { server.endpoint(.webSocket) }

    /// The node's STOMP-over-TCP endpoint.
    var tcp: StompEndpoint { server.endpoint(.tcp) }

    /// Stops the node before its scope ends (stopping again at the end is harmless).
    func stop() async { await server.chat.stop() }
}

/// Starts a chat node per id on `broker` (each returns once its relay is assigned), all with ParleyTesting's
/// shared secret, runs `body`, then stops them whether `body` succeeded or not.
func withChatNodes<T>(
    _ ids: [String], on broker: TansuBroker, configure: (inout KafkaRelayConfiguration) -> Void = { _ in },
    _ body: ([ChatNode]) async throws -> T
) async throws -> T {
    let relays = ids.map { id in
        var configuration = ChatNode.relayConfiguration(broker: broker, nodeID: id)
        configure(&configuration)
        return KafkaRelay(configuration: configuration)
    }
    return try await withParleyServers(relays.map { ParleyTestServer.Options(role: .chat, relay: $0) }) { servers in
        try await body(zip(relays, servers).map { ChatNode(id: $0.configuration.nodeID, relay: $0, server: $1) })
    }
}

/// Tansu plus chat nodes sharing one JWT secret (a token issued for one node is valid on every node).
struct ChatCluster: Sendable {
    let broker: TansuBroker
    let nodes: [ChatNode]

    /// Issues tokens every node accepts.
    var jwt: JWTService { nodes[0].server.jwt }

    /// Connects `user` to `node` over WebSocket (or TCP) with a fresh access token.
    func client(_ user: String, on node: ChatNode, tcp: Bool = false, receiptTimeout: Duration = .seconds(30)) async throws -> StompClient {
        try await node.server.connect(
            user, over: tcp ? .tcp : .webSocket, options: StompClient.Options(host: "/", receiptTimeout: receiptTimeout))
    }
}

/// Starts Tansu and `nodeCount` chat nodes (`node-1`, `node-2`, …; relay settings adjusted by `configure`), runs
/// `body`, then stops every node and the broker whether `body` succeeded or not.
func withCluster<T: Sendable>(
    nodes nodeCount: Int, configure: (inout KafkaRelayConfiguration) -> Void = { _ in },
    _ body: @Sendable (ChatCluster) async throws -> T
) async throws -> T {
    let broker = try await TansuBroker.start()
    defer { broker.stop() }
    return try await withChatNodes((1...nodeCount).map { "node-\($0)" }, on: broker, configure: configure) { nodes in
        do {
            return try await body(ChatCluster(broker: broker, nodes: nodes))
        } catch {
            // Resume first: a test that failed while the broker was paused must not leave nodes waiting on it.
            broker.resume()
            throw error
        }
    }
}

/// The chat events one subscription receives, recorded as they arrive so tests can await counts.
final class Inbox: Sendable {
    let events = Recorder<ChatEvent>()
    let failures = Recorder<String>()
    private let reader: Task<Void, Never>

    init(_ subscription: StompSubscription) {
        let events = self.events
        let failures = self.failures
        reader = Task {
            do {
                for try await frame in subscription {
                    do {
                        events.record(try ChatEvent.decode(json: Array(frame.body.readableBytesView)))
                    } catch {
                        failures.record("undecodable MESSAGE: \(error)")
                    }
                }
            } catch {
                failures.record("subscription ended: \(error)")
            }
        }
    }

    deinit { reader.cancel() }

    /// Waits (bounded) until `count` events arrived; false on timeout.
    func waitFor(_ count: Int, timeout: Duration = .seconds(20)) async -> Bool {
        await events.waitForCount(count, timeout: timeout)
    }

    /// Waits `window` so that anything extra (a duplicate) has time to arrive, then returns the events.
    func settled(after window: Duration = .milliseconds(700)) async throws -> [ChatEvent] {
        try await Task.sleep(for: window)
        return events.values
    }
}

extension StompClient {
    /// Subscribes to `destination` (receipted, so it is active before anyone sends) and records what arrives.
    func inbox(_ destination: String = "/user/queue/messages") async throws -> Inbox {
        Inbox(try await subscribe(destination: destination, receipt: true))
    }

    /// `SEND /app/chat.sendMessage`; with `receipt` it returns only after the server's RECEIPT.
    func sendChat(room: String, to receiver: String? = nil, content: String, receipt: Bool = true) async throws {
        var fields = [#""roomId":"\#(room)""#, #""content":"\#(content)""#, #""messageType":"TALK""#]
        if let receiver { fields.append(#""receiverId":"\#(receiver)""#) }
        try await send(
            destination: "/app/chat.sendMessage", body: "{" + fields.joined(separator: ",") + "}",
            headers: ["content-type": "application/json"], receipt: receipt)
    }
}

/// Runs `body` with a deadline so a broken node fails the test instead of hanging it.
func withTimeout<T: Sendable>(
    _ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw ClusterTestError("\(what): timed out after \(seconds) s")
        }
        return value
    }
}

/// A failed expectation that stops the test, with a message saying what was waited for.
struct ClusterTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held. For counters
/// that have no notification (relay metrics); the outcome is still asserted by the caller.
func eventually(timeout: Duration = .seconds(20), _ condition: () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now > deadline { return false }
        try await Task.sleep(for: .milliseconds(20))
    }
    return true
}

/// Seconds in a `Duration`.
func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
