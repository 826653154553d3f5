import Foundation
import ParleyClient
import ParleyLoad
import ParleyCodec
import ParleyServer
import Testing

/// The mission's throughput check: 100 WebSocket clients each send 100 DMs to the next client in a ring.
///
/// Runs twice: through ParleyLoad's `RingScenario` (the load generator, with loss/duplicate/order tracking)
/// and through ParleyClient directly (`runRing`), so a regression in either layer is visible.
@Suite(.timeLimit(.minutes(1))) struct ThroughputTests {
    static let clients = 100
    static let messagesPerClient = 100

    @Test func hundredWebSocketClientsDeliverTenThousandDMsQuickly() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let elapsed = try await withTimeout(40) {
            try await runRing(server: server, clients: Self.clients, messagesPerClient: Self.messagesPerClient)
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("ring: \(Self.clients) WebSocket clients × \(Self.messagesPerClient) DMs = \(Self.clients * Self.messagesPerClient) delivered in \(String(format: "%.3f", seconds)) s")
        #expect(seconds < 15)
        #expect(server.server.broker.statistics.eventsDelivered.value == Self.clients * Self.messagesPerClient)
    }

    @Test func loadGeneratorRingOverWebSocket() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let jwt = server.jwt
        let credentials = ClosureCredentials { index, runID in
            let user = "load-\(runID)-\(index)"
            return LoadCredentials(bearerToken: try await jwt.issue(.access, subject: user).token, principal: user)
        }
        let settings = LoadSettings(
            endpoint: server.endpoint(.webSocket), mapping: ParleyChatMapping(), credentials: credentials,
            pacing: .window(100), messagesPerSender: Self.messagesPerClient, timeout: .seconds(30), stallTimeout: .seconds(5))
        let result = try await RingScenario(settings: settings, clients: Self.clients).run()
        let seconds = result.elapsedSeconds
        print("ring (ParleyLoad): \(result.delivered) of \(result.sent) delivered in \(String(format: "%.3f", seconds)) s")
        #expect(result.sent == Self.clients * Self.messagesPerClient)
        #expect(result.delivered == Self.clients * Self.messagesPerClient)
        #expect(result.lost == 0 && result.duplicates == 0 && result.outOfOrder == 0)
        #expect(seconds < 15)
    }
}

/// Connects `clients` users over WebSocket, subscribes each to its queue, then has every client send
/// `messagesPerClient` DMs to the next one; returns the time from the first SEND until every DM arrived.
func runRing(server: TestServer, clients: Int, messagesPerClient: Int) async throws -> Duration {
    let users = (0..<clients).map { "ring-\($0)" }
    var connected: [StompClient] = []
    var queues: [StompSubscription] = []
    for user in users {
        let client = try await server.client(user, over: .webSocket)
        queues.append(try await client.subscribe(destination: "/user/queue/messages", receipt: true))
        connected.append(client)
    }
    let participants = connected
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for (index, queue) in queues.enumerated() {
            group.addTask {
                var received = 0
                for try await message in queue {
                    let event = try decodeEvent(message)
                    guard event.senderId == users[(index + clients - 1) % clients] else {
                        throw RingError(description: "client \(index) got a DM from \(event.senderId)")
                    }
                    received += 1
                    if received == messagesPerClient { return }
                }
                throw RingError(description: "client \(index) stopped after \(received) messages")
            }
        }
        for (index, client) in participants.enumerated() {
            let receiver = users[(index + 1) % clients]
            group.addTask {
                for sequence in 0..<messagesPerClient {
                    try await client.sendChat(chatJSON(room: "ring", to: receiver, content: "m\(sequence)"), receipt: false)
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = ContinuousClock.now - start
    for client in participants { await client.close() }
    return elapsed
}

struct RingError: Error, CustomStringConvertible { var description: String }
