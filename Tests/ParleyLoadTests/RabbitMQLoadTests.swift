import Foundation
import ParleyClient
import ParleyCodec
import ParleyLoad
import Testing

/// Load scenarios against a real RabbitMQ, both transports.
@Suite(.enabled(if: RabbitMQ.isConfigured, RabbitMQ.skipReason))
struct RabbitMQLoadTests {
    @Test(arguments: RabbitMQ.endpoints)
    func ringTenByTenDeliversEverythingOnce(endpoint: StompEndpoint) async throws {
        let result = try await RingScenario(settings: RabbitMQ.settings(endpoint, messages: 10), clients: 10).run()
        print("ring 10×10 over \(endpoint): \(result.elapsedSeconds) s, p99 \(result.latency.p99) ms")
        #expect(result.sent == 100)
        #expect(result.expected == 100)
        #expect(result.delivered == 100)
        #expect(result.lost == 0)
        #expect(result.duplicates == 0)
        #expect(result.outOfOrder == 0)
        #expect(result.connectionErrors == 0)
        #expect(result.latency.count == 100)
        #expect(result.latency.p50 > 0 && result.latency.p50 <= result.latency.p99 && result.latency.p99 <= result.latency.max)
        #expect(!result.timedOut)
        #expect(LoadThresholds(noLoss: true).failures(of: result).isEmpty)
    }

    @Test(arguments: RabbitMQ.endpoints)
    func roomOneToTenFansOut(endpoint: StompEndpoint) async throws {
        let result = try await RoomScenario(settings: RabbitMQ.settings(endpoint, messages: 20), senders: 1, subscribers: 10).run()
        #expect(result.sent == 20)
        #expect(result.expected == 200)
        #expect(result.delivered == 200)
        #expect(result.lost == 0)
        #expect(result.receivers == 10)
        #expect(result.outOfOrder == 0)
    }

    @Test func openLoopRateIsRespected() async throws {
        let endpoint = try #require(RabbitMQ.endpoints.first)
        // 40 messages at 200/s across 4 senders take about 0.2 s to send.
        let result = try await RingScenario(settings: RabbitMQ.settings(endpoint, messages: 10, pacing: .rate(200)), clients: 4).run()
        #expect(result.delivered == 40)
        // Paced: each sender's last message is due 9 × 20 ms after its start (unpaced, 40 messages take ~5 ms);
        // the bound leaves room for a late first send on a loaded machine.
        #expect(result.elapsedSeconds >= 0.1)
    }

    @Test func durationBoundsAnOpenLoopRun() async throws {
        let endpoint = try #require(RabbitMQ.endpoints.first)
        var settings = RabbitMQ.settings(endpoint, messages: 1, pacing: .rate(200))
        settings.messagesPerSender = nil
        settings.duration = .milliseconds(400)
        let result = try await RingScenario(settings: settings, clients: 2).run()
        // 200 msgs/s for 0.4 s: each of the 2 senders has 40 messages due (one every 10 ms), however late it runs.
        #expect(result.sent == 80, "sent \(result.sent)")
        #expect(result.delivered == result.sent)
        #expect(result.lost == 0)
    }

    @Test func messagesTakenByAnotherConsumerAreReportedLost() async throws {
        let endpoint = try #require(RabbitMQ.endpoints.first)
        var settings = RabbitMQ.settings(endpoint, messages: 20)
        settings.stallTimeout = .seconds(1)
        // A competing consumer on client 1's queue takes every other message (RabbitMQ round-robins).
        let thief = try await StompClient.connect(to: endpoint, options: RabbitMQ.options)
        let stolenQueue = BrokerQueueMapping().inboxDestination(of: LoadParticipant(index: 1, principal: "", runID: settings.runID))
        let stolen = try await thief.subscribe(destination: stolenQueue, receipt: true)
        let counter = Task {
            var count = 0
            for try await _ in stolen { count += 1 }
            return count
        }
        let result = try await RingScenario(settings: settings, clients: 3).run()
        try await thief.disconnect()
        let stolenCount = try await counter.value
        #expect(stolenCount > 0)
        #expect(result.sent == 60)
        #expect(result.lost == stolenCount)
        #expect(result.delivered == 60 - stolenCount)
        #expect(LoadThresholds(noLoss: true).failures(of: result) == ["\(stolenCount) messages lost (--no-loss)"])
    }

    @Test func connectStormHoldsSessions() async throws {
        let endpoint = try #require(RabbitMQ.endpoints.first)
        let result = try await ConnectScenario(
            endpoint: endpoint, connections: 50, concurrency: 10, hold: .milliseconds(300),
            clientOptions: RabbitMQ.options).run()
        let connect = try #require(result.connect)
        #expect(connect.established == 50)
        #expect(connect.failed == 0)
        #expect(connect.droppedDuringHold == 0)
        #expect(connect.connectRate > 0)
        #expect(connect.holdSeconds >= 0.29)
    }
}

/// The ring scenario against a real ActiveMQ over TCP.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["PARLEY_ACTIVEMQ_STOMP"] != nil, "PARLEY_ACTIVEMQ_STOMP not set: start ActiveMQ with conformance/peers/activemq.sh"))
struct ActiveMQLoadTests {
    @Test func ringTenByTen() async throws {
        let address = try #require(ProcessInfo.processInfo.environment["PARLEY_ACTIVEMQ_STOMP"])
        let settings = LoadSettings(
            endpoint: try StompEndpoint(url: "tcp://\(address)"), mapping: BrokerQueueMapping(),
            credentials: StaticCredentials(.login("admin", passcode: "admin")),
            messagesPerSender: 10, timeout: .seconds(30), stallTimeout: .seconds(3))
        let result = try await RingScenario(settings: settings, clients: 10).run()
        #expect(result.delivered == 100)
        #expect(result.lost == 0)
        #expect(result.duplicates == 0)
    }
}
