import Foundation
import ParleyKafka
import ParleyRelay
import ParleyTesting
import Testing

/// The Kafka relay against a real Tansu broker and librdkafka 2.16. Serialized: each test runs its own broker
/// and the machine has few cores.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct KafkaRelayTests {
    @Test func publishedEventsReachTheSinkAfterTheirAck() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        let relay = KafkaRelay(configuration: testConfiguration(broker, node: "solo"))
        let sink = RecordingSink()
        try await relay.start(deliveringTo: sink)

        let outcomes = Recorder<PublishOutcome>()
        let events = (0..<20).map { makeEvent($0) }
        for event in events { publish(event, through: relay, into: outcomes) }
        #expect(await outcomes.waitForCount(20, timeout: .seconds(10)))
        #expect(outcomes.values.filter { !$0.succeeded }.isEmpty)
        #expect(await sink.events.waitForCount(20, timeout: .seconds(10)))
        #expect(Set(sink.events.values.map(\.messageId)) == Set(events.map(\.messageId)))
        // The relayed JSON round-trips every field.
        let byID = Dictionary(uniqueKeysWithValues: sink.events.values.map { ($0.messageId, $0) })
        for event in events { #expect(byID[event.messageId] == event) }
        // Events of one room (one partition) keep their order.
        let room0 = sink.events.values.filter { $0.roomId == "room-0" }.map(\.messageId)
        #expect(room0 == events.filter { $0.roomId == "room-0" }.map(\.messageId))

        await relay.shutdown()
        let metrics = relay.metrics
        #expect(metrics.produced == 20 && metrics.acknowledged == 20 && metrics.delivered == 20)
        #expect(metrics.publishFailures == 0 && metrics.duplicatesDropped == 0)
    }

    @Test func everyNodeReceivesEveryEvent() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        let (node1, sink1, node2, sink2) = try await startTwoNodes(broker, names: ("node-1", "node-2"))

        let outcomes = Recorder<PublishOutcome>()
        let events = (0..<200).map { makeEvent($0) }
        for (index, event) in events.enumerated() {
            publish(event, through: index.isMultiple(of: 2) ? node1 : node2, into: outcomes)
        }
        #expect(await outcomes.waitForCount(200, timeout: .seconds(10)))
        #expect(outcomes.values.filter { !$0.succeeded }.isEmpty)
        #expect(await sink1.events.waitForCount(200, timeout: .seconds(10)))
        #expect(await sink2.events.waitForCount(200, timeout: .seconds(10)))
        let expected = Dictionary(uniqueKeysWithValues: events.map { ($0.messageId, 1) })
        #expect(sink1.deliveryCounts == expected)
        #expect(sink2.deliveryCounts == expected)
        await node1.shutdown()
        await node2.shutdown()
    }

    @Test func publishCompletesOnlyAfterTheBrokerAcknowledged() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        let relay = KafkaRelay(configuration: testConfiguration(broker, node: "ack"))
        let sink = RecordingSink()
        try await relay.start(deliveringTo: sink)

        #expect(broker.pause(), "Tansu did not stop on SIGSTOP")
        let outcomes = Recorder<PublishOutcome>()
        publish(makeEvent(1), through: relay, into: outcomes)
        // While the broker is frozen nothing can have acknowledged the message.
        #expect(await outcomes.waitForCount(1, timeout: .milliseconds(1500)) == false)
        #expect(relay.metrics.acknowledged == 0)
        broker.resume()
        #expect(await outcomes.waitForCount(1, timeout: .seconds(15)))
        #expect(outcomes.values.first?.succeeded == true)
        #expect(try #require(outcomes.values.first).elapsed >= .milliseconds(1500))
        #expect(await sink.events.waitForCount(1, timeout: .seconds(15)))
        await relay.shutdown()
    }

    @Test func brokerPausedDuringARunLosesAndDuplicatesNothing() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        let (node1, sink1, node2, sink2) = try await startTwoNodes(broker, names: ("pause-1", "pause-2"))

        let total = 1000
        let events = (0..<total).map { makeEvent($0) }
        let outcomes = Recorder<PublishOutcome>()
        for (index, event) in events.enumerated() {
            if index == 300 {
                // Freeze the broker past the 2 s session timeout while the rest is published.
                broker.pause()
                Task.detached {
                    try? await Task.sleep(for: .seconds(3))
                    broker.resume()
                }
            }
            publish(event, through: index.isMultiple(of: 2) ? node1 : node2, into: outcomes)
            if index.isMultiple(of: 50) { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(await outcomes.waitForCount(total, timeout: .seconds(25)))
        #expect(outcomes.values.filter { !$0.succeeded }.isEmpty)
        // Receipts for messages sent while the broker was frozen arrive late.
        #expect(outcomes.values.contains { $0.elapsed >= .seconds(2) })
        #expect(await sink1.events.waitForCount(total, timeout: .seconds(20)))
        #expect(await sink2.events.waitForCount(total, timeout: .seconds(20)))
        // Let any redelivery after the rebalance arrive before counting.
        try await Task.sleep(for: .milliseconds(500))
        let expected = Dictionary(uniqueKeysWithValues: events.map { ($0.messageId, 1) })
        #expect(sink1.deliveryCounts == expected)
        #expect(sink2.deliveryCounts == expected)
        await node1.shutdown()
        await node2.shutdown()
        print("pause run: node 1 \(node1.metrics), node 2 \(node2.metrics)")
    }

    @Test func restartedNodeResumesFromItsCommittedPosition() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        let sender = KafkaRelay(configuration: testConfiguration(broker, node: "sender"))
        try await sender.start(deliveringTo: RecordingSink())

        let first = RecordingSink()
        let node = KafkaRelay(configuration: testConfiguration(broker, node: "restarting"))
        try await node.start(deliveringTo: first)
        let before = (0..<30).map { makeEvent($0, prefix: "before") }
        for event in before { try await sender.publish(event) }
        #expect(await first.events.waitForCount(30, timeout: .seconds(10)))
        await node.shutdown()

        // Published while the node is down: the restarted node must get exactly these, then new ones.
        let whileDown = (0..<30).map { makeEvent($0, prefix: "down") }
        for event in whileDown { try await sender.publish(event) }
        let second = RecordingSink()
        let restarted = KafkaRelay(configuration: testConfiguration(broker, node: "restarting"))
        try await restarted.start(deliveringTo: second)
        let after = (0..<10).map { makeEvent($0, prefix: "after") }
        for event in after { try await sender.publish(event) }
        #expect(await second.events.waitForCount(40, timeout: .seconds(10)))
        try await Task.sleep(for: .milliseconds(300))
        let expected = Dictionary(uniqueKeysWithValues: (whileDown + after).map { ($0.messageId, 1) })
        #expect(second.deliveryCounts == expected)
        await restarted.shutdown()
        await sender.shutdown()
    }

    @Test func redeliveredDuplicatesAreDropped() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        let relay = KafkaRelay(configuration: testConfiguration(broker, node: "dedupe"))
        let sink = RecordingSink()
        try await relay.start(deliveringTo: sink)
        let event = makeEvent(7)
        try await relay.publish(event)
        try await relay.publish(event)
        let marker = makeEvent(8)
        try await relay.publish(marker)
        #expect(await sink.events.waitForCount(2, timeout: .seconds(10)))
        try await Task.sleep(for: .milliseconds(200))
        #expect(sink.deliveryCounts == [event.messageId: 1, marker.messageId: 1])
        #expect(relay.metrics.duplicatesDropped == 1)
        await relay.shutdown()
    }

    @Test func unreachableBrokerFailsStartWithAClearError() async throws {
        let port = try TansuBroker.freeLoopbackPort()
        var configuration = KafkaRelayConfiguration(bootstrapServers: "127.0.0.1:\(port)", nodeID: "lonely")
        configuration.startupTimeout = .seconds(2)
        let relay = KafkaRelay(configuration: configuration)
        let started = ContinuousClock.now
        await #expect {
            try await relay.start(deliveringTo: RecordingSink())
        } throws: { error in
            guard case KafkaRelayError.brokerUnreachable(let servers, _) = error else { return false }
            return servers == "127.0.0.1:\(port)" && "\(error)".contains("cannot reach Kafka")
        }
        #expect(ContinuousClock.now - started < .seconds(10), "the 2 s start-up timeout was not honoured")
        // A relay that failed to start refuses publishes instead of queueing them forever.
        await #expect(throws: ChatRelayError.notRunning) { try await relay.publish(makeEvent(1)) }
        await relay.shutdown()
    }

    @Test func unacknowledgedPublishFailsAfterTheMessageTimeout() async throws {
        let broker = try await TansuBroker.start()
        var configuration = testConfiguration(broker, node: "timeout")
        configuration.messageTimeout = .seconds(1)
        let relay = KafkaRelay(configuration: configuration)
        try await relay.start(deliveringTo: RecordingSink())
        broker.stop()

        let outcomes = Recorder<PublishOutcome>()
        publish(makeEvent(1), through: relay, into: outcomes)
        #expect(await outcomes.waitForCount(1, timeout: .seconds(8)))
        let outcome = try #require(outcomes.values.first)
        #expect(!outcome.succeeded)
        #expect(outcome.errorText?.contains("did not acknowledge it within 1000 ms") == true)
        #expect(relay.metrics.publishFailures == 1)
        await relay.shutdown()
    }

    @Test func shutdownFailsPublishesThatWereNeverAcknowledged() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        var configuration = testConfiguration(broker, node: "drain")
        configuration.shutdownDrainTimeout = .milliseconds(300)
        let relay = KafkaRelay(configuration: configuration)
        try await relay.start(deliveringTo: RecordingSink())
        #expect(broker.pause(), "Tansu did not stop on SIGSTOP")
        let outcomes = Recorder<PublishOutcome>()
        publish(makeEvent(1), through: relay, into: outcomes)
        // The broker stays frozen: the drain timeout passes and the publish must fail, not hang.
        let shutdown = Task { await relay.shutdown() }
        #expect(await outcomes.waitForCount(1, timeout: .seconds(3)))
        let outcome = try #require(outcomes.values.first)
        #expect(!outcome.succeeded)
        #expect(outcome.errorText == "relay shut down before Kafka acknowledged the message")
        broker.stop()
        await shutdown.value
        await #expect(throws: ChatRelayError.notRunning) { try await relay.publish(makeEvent(2)) }
    }

    @Test func startingTwiceIsRefused() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        let relay = KafkaRelay(configuration: testConfiguration(broker, node: "twice"))
        try await relay.start(deliveringTo: RecordingSink())
        await #expect(throws: KafkaRelayError.alreadyStarted) { try await relay.start(deliveringTo: RecordingSink()) }
        await relay.shutdown()
    }

    @Test func invalidConfigurationIsRejectedBeforeConnecting() async throws {
        var configuration = KafkaRelayConfiguration(bootstrapServers: "127.0.0.1:1", nodeID: "has space")
        await #expect(throws: KafkaRelayError.self) { try await KafkaRelay(configuration: configuration).start(deliveringTo: RecordingSink()) }
        configuration.nodeID = "ok"
        configuration.extraProperties = ["no.such.property": "1"]
        await #expect {
            try await KafkaRelay(configuration: configuration).start(deliveringTo: RecordingSink())
        } throws: { error in
            guard case KafkaRelayError.invalidConfiguration(let reason) = error else { return false }
            return reason.contains("no.such.property")
        }
    }
}

extension KafkaRelayTests {
    @Test func relayCreatesTheTopicWithTheConfiguredPartitions() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        var configuration = testConfiguration(broker, node: "topic")
        configuration.topic = "parley-topic-check"
        configuration.partitions = 5
        let relay = KafkaRelay(configuration: configuration)
        try await relay.start(deliveringTo: RecordingSink())
        var assigned: [Int32] = []
        for await event in relay.events {
            if case .partitionsAssigned(let partitions) = event {
                assigned = partitions
                break
            }
        }
        #expect(assigned.sorted() == [0, 1, 2, 3, 4])
        await relay.shutdown()
    }
}
