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
