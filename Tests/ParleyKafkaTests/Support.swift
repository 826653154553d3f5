import Foundation
import ParleyKafka
import ParleyRelay
import ParleyTesting

/// A relay configuration for tests: short session timeout so group joins take about a second.
func testConfiguration(_ broker: TansuBroker, node: String) -> KafkaRelayConfiguration {
    var configuration = KafkaRelayConfiguration(bootstrapServers: broker.bootstrapServers, nodeID: node)
    configuration.sessionTimeout = .seconds(2)
    configuration.startupTimeout = .seconds(10)
    return configuration
}

/// Two relays on `broker` (node ids `names`), each started with its own recording sink, joined concurrently.
func startTwoNodes(
    _ broker: TansuBroker, names: (String, String)
) async throws -> (node1: KafkaRelay, sink1: RecordingSink, node2: KafkaRelay, sink2: RecordingSink) {
    let node1 = KafkaRelay(configuration: testConfiguration(broker, node: names.0))
    let node2 = KafkaRelay(configuration: testConfiguration(broker, node: names.1))
    let sink1 = RecordingSink()
    let sink2 = RecordingSink()
    async let started1: Void = node1.start(deliveringTo: sink1)
    async let started2: Void = node2.start(deliveringTo: sink2)
    try await started1
    try await started2
    return (node1, sink1, node2, sink2)
}

/// A distinct event; rooms rotate so that all partitions are used.
func makeEvent(_ index: Int, prefix: String = "m") -> ChatEvent {
    ChatEvent(
        messageId: "\(prefix)-\(index)-\(UUID().uuidString.prefix(8))", roomId: "room-\(index % 7)", senderId: "alice",
        receiverId: index.isMultiple(of: 2) ? "bob" : nil, content: "hello \(index)", messageType: "TALK",
        timestamp: ChatEvent.formatTimestamp(Date()))
}

/// A publish outcome as a test records it.
struct PublishOutcome: Sendable {
    var messageId: String
    var succeeded: Bool
    var errorText: String?
    var elapsed: Duration
}

/// Publishes `event` through `relay` and records its outcome into `outcomes`.
func publish(_ event: ChatEvent, through relay: KafkaRelay, into outcomes: Recorder<PublishOutcome>) {
    let started = ContinuousClock.now
    relay.publish(event) { result in
        let elapsed = ContinuousClock.now - started
        switch result {
        case .success:
            outcomes.record(PublishOutcome(messageId: event.messageId, succeeded: true, elapsed: elapsed))
        case .failure(let error):
            outcomes.record(PublishOutcome(messageId: event.messageId, succeeded: false, errorText: "\(error)", elapsed: elapsed))
        }
    }
}

/// Settings for outage tests: a 2 s message timeout (a pause of a few seconds outlasts it), a broker probe every
/// 250 ms that gives up after 500 ms, and a short rebuild backoff.
func outageConfiguration(_ broker: TansuBroker, node: String) -> KafkaRelayConfiguration {
    var configuration = testConfiguration(broker, node: node)
    configuration.messageTimeout = .seconds(2)
    configuration.healthCheckInterval = .milliseconds(250)
    configuration.healthCheckTimeout = .milliseconds(500)
    configuration.rebuildBackoff = .milliseconds(100)
    return configuration
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now > deadline { return false }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return true
}

/// Publishes a fresh event every 100 ms until one is acknowledged; returns how long that took from now, or nil
/// after `timeout`.
func timeUntilAPublishSucceeds(through relay: KafkaRelay, timeout: Duration) async -> Duration? {
    let started = ContinuousClock.now
    var index = 0
    while ContinuousClock.now - started < timeout {
        index += 1
        do {
            try await relay.publish(makeEvent(index, prefix: "probe"))
            return ContinuousClock.now - started
        } catch {
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
    return nil
}

/// Whether every id in `ids` reached `sink` (waits up to `timeout`).
func arrived(_ ids: [String], at sink: RecordingSink, timeout: Duration = .seconds(10)) async -> Bool {
    let wanted = Set(ids)
    return await eventually(timeout: timeout) { wanted.isSubset(of: Set(sink.events.values.map(\.messageId))) }
}
