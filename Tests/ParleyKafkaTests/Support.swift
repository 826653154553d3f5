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
