import Foundation
@testable import ParleyKafka
import ParleyRelay
import ParleyTesting
import Testing

/// Recovery from broker outages longer than the message timeout, and from fatal client errors, against a real
/// Tansu (frozen with SIGSTOP) and librdkafka 2.16.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct RelayRecoveryTests {
    /// The issue-12 scenario with a 2 s message timeout: frozen for 6 s with publishes in flight, they fail with
    /// the timeout error and the relay reports itself degraded; after SIGCONT the same relay publishes and
    /// delivers again by itself and is `running`.
    @Test func relayRelaysAgainAfterTheBrokerWasFrozenLongerThanTheMessageTimeout() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        let relay = KafkaRelay(configuration: outageConfiguration(broker, node: "outage"))
        let sink = RecordingSink()
        try await relay.start(deliveringTo: sink)
        try await relay.publish(makeEvent(0, prefix: "before"))
        #expect(await eventually { relay.state == .running }, "state \(relay.state)")

        let pausedAt = ContinuousClock.now
        #expect(broker.pause(), "Tansu did not stop on SIGSTOP")
        let outcomes = Recorder<PublishOutcome>()
        for index in 0..<10 { publish(makeEvent(index, prefix: "during"), through: relay, into: outcomes) }
        #expect(await eventually(timeout: .seconds(5)) { relay.state.name == "degraded" }, "state \(relay.state)")
        #expect(!relay.health.isReady)
        #expect(await outcomes.waitForCount(10, timeout: .seconds(8)))
        for outcome in outcomes.values {
            #expect(!outcome.succeeded)
            #expect(outcome.errorText == "message not delivered: Kafka did not acknowledge it within 2000 ms")
        }
        try await Task.sleep(until: pausedAt + .seconds(6))
        #expect(broker.resume())

        let recovery = await timeUntilAPublishSucceeds(through: relay, timeout: .seconds(15))
        #expect(recovery != nil, "no publish succeeded within 15 s of the broker resuming; state \(relay.state)")
        #expect(recovery.map { $0 < .seconds(10) } == true)
        let after = (0..<20).map { makeEvent($0, prefix: "after") }
        for event in after { try await relay.publish(event) }
        #expect(await arrived(after.map(\.messageId), at: sink))
        #expect(await eventually { relay.state == .running }, "state \(relay.state)")
        print("frozen 6 s (message timeout 2 s): first publish acknowledged \(recovery.map { "\($0)" } ?? "never") after resume; \(relay.metrics)")
        await relay.shutdown()
        #expect(relay.state == .stopped)
    }

    /// The producer as configured before issue 12 (idempotent) is fenced by Tansu after the same outage: the
    /// relay notices, replaces it, and relays again; clients never see librdkafka's fencing text.
    @Test func fencedIdempotentProducerIsReplacedAndTheRelayRecovers() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        var configuration = outageConfiguration(broker, node: "fenced")
        configuration.extraProperties = ["enable.idempotence": "true"]
        let relay = KafkaRelay(configuration: configuration)
        let sink = RecordingSink()
        try await relay.start(deliveringTo: sink)
        try await relay.publish(makeEvent(0, prefix: "before"))

        #expect(broker.pause(), "Tansu did not stop on SIGSTOP")
        let outcomes = Recorder<PublishOutcome>()
        for index in 0..<5 { publish(makeEvent(index, prefix: "during"), through: relay, into: outcomes) }
        #expect(await outcomes.waitForCount(5, timeout: .seconds(8)))
        try await Task.sleep(for: .seconds(4))
        #expect(broker.resume())

        let failures = Recorder<String>()
        var recovered: Duration?
        let resumed = ContinuousClock.now
        while recovered == nil, ContinuousClock.now - resumed < .seconds(15) {
            do {
                try await relay.publish(makeEvent(1, prefix: "retry"))
                recovered = ContinuousClock.now - resumed
            } catch {
                failures.record("\(error)")
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(recovered != nil, "still failing 15 s after resume: \(failures.values.suffix(3))")
        #expect(relay.metrics.producerRebuilds >= 1)
        #expect(!failures.values.contains { $0.contains("transactionalId") }, "librdkafka's text reached a client: \(failures.values)")
        let after = (0..<10).map { makeEvent($0, prefix: "after") }
        for event in after { try await relay.publish(event) }
        #expect(await arrived(after.map(\.messageId), at: sink))
        print("idempotent producer after a 4 s freeze: relaying again \(recovered.map { "\($0)" } ?? "never") after resume, failures \(failures.values)")
        await relay.shutdown()
    }

    /// A fatal producer error (librdkafka's test hook): publishes fail fast with the rebuilding error while the
    /// producer is recreated after the backoff, then succeed through the new producer.
    @Test func fatalProducerErrorRecreatesTheProducer() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        var configuration = outageConfiguration(broker, node: "fatal-producer")
        configuration.rebuildBackoff = .seconds(2)
        let relay = KafkaRelay(configuration: configuration)
        let sink = RecordingSink()
        try await relay.start(deliveringTo: sink)
        try await relay.publish(makeEvent(0, prefix: "before"))

        relay.raiseFatalErrorForTesting(in: .producer)
        #expect(await eventually(timeout: .seconds(5)) { relay.state.name == "rebuilding" }, "state \(relay.state)")
        #expect(relay.health == .notReady(reason: "Kafka relay \(relay.state)"))
        let started = ContinuousClock.now
        await #expect(throws: ChatRelayError.rebuilding) { try await relay.publish(makeEvent(1, prefix: "during")) }
        #expect(ContinuousClock.now - started < .milliseconds(500), "a publish during the rebuild must fail at once")

        #expect(await eventually(timeout: .seconds(10)) { relay.state == .running }, "state \(relay.state)")
        let after = (0..<10).map { makeEvent($0, prefix: "after") }
        for event in after { try await relay.publish(event) }
        #expect(await arrived(after.map(\.messageId), at: sink))
        #expect(relay.metrics.producerRebuilds == 1 && relay.metrics.consumerRebuilds == 0)
        await relay.shutdown()
        var seen: [KafkaRelayEvent] = []
        for await event in relay.events {
            if case .rebuilding = event { seen.append(event) }
            if case .rebuilt = event { seen.append(event) }
        }
        #expect(seen.count == 2, "\(seen)")
    }

    /// A fatal consumer error: the consumer closes, a new one joins the node's group, resumes at the committed
    /// offsets and delivers new events; nothing already delivered is delivered again.
    @Test func fatalConsumerErrorRecreatesTheConsumerWithoutDuplicates() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        let relay = KafkaRelay(configuration: outageConfiguration(broker, node: "fatal-consumer"))
        let sink = RecordingSink()
        try await relay.start(deliveringTo: sink)
        let before = (0..<20).map { makeEvent($0, prefix: "before") }
        for event in before { try await relay.publish(event) }
        #expect(await arrived(before.map(\.messageId), at: sink))

        relay.raiseFatalErrorForTesting(in: .consumer)
        #expect(await eventually { relay.metrics.consumerRebuilds == 1 })
        // Publishing is not interrupted by a consumer rebuild.
        let during = (0..<5).map { makeEvent($0, prefix: "during") }
        for event in during { try await relay.publish(event) }
        #expect(await eventually(timeout: .seconds(15)) { relay.state == .running }, "state \(relay.state)")
        let after = (0..<20).map { makeEvent($0, prefix: "after") }
        for event in after { try await relay.publish(event) }
        #expect(await arrived((during + after).map(\.messageId), at: sink, timeout: .seconds(15)))
        try await Task.sleep(for: .milliseconds(300))
        let expected = Dictionary(uniqueKeysWithValues: (before + during + after).map { ($0.messageId, 1) })
        #expect(sink.deliveryCounts == expected)
        #expect(relay.metrics.producerRebuilds == 0)
        await relay.shutdown()
    }
}
