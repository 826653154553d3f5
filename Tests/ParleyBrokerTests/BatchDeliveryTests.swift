import NIOCore
import NIOEmbedded
import ParleyBroker
import ParleyCodec
import ParleyRelay
import Testing

/// `deliver(contentsOf:)`, the Kafka consumer's batch hand-off: same targets and order as one `deliver` per event.
struct BatchDeliveryTests {
    private func event(_ id: String, room: String = "kitchen", from sender: String, to receiver: String? = nil) -> ChatEvent {
        ChatEvent(
            messageId: id, roomId: room, senderId: sender, receiverId: receiver, content: "c-\(id)", messageType: "TALK",
            timestamp: "2026-11-25T00:00:00Z")
    }

    @Test func batchReachesEachSubscriptionInOrder() async throws {
        let relay = ManualRelay()
        let broker = try await makeBroker(relay: relay)
        let loop = EmbeddedEventLoop()
        let alice = try TestSession(broker, loop: loop)
        let bob = try TestSession(broker, loop: loop)
        try alice.connect("alice")
        try bob.connect("bob")
        try alice.subscribe("room", "/topic/rooms.kitchen")
        try bob.subscribe("room", "/topic/rooms.kitchen")
        try bob.subscribe("dm", "/user/queue/messages")
        try bob.subscribe("hall", "/topic/rooms.hall")
        _ = try alice.frames()
        _ = try bob.frames()

        relay.sink?.deliver(contentsOf: [
            event("m1", from: "carol"), event("m2", from: "alice", to: "bob"), event("m3", room: "hall", from: "carol"),
            event("m4", from: "carol"),
        ])
        let toBob = try bob.frames().map { ($0.headers["subscription"] ?? "", $0.bodyString) }
        #expect(toBob.map(\.0) == ["room", "dm", "hall", "room"])
        #expect(zip(toBob.map(\.1), ["c-m1", "c-m2", "c-m3", "c-m4"]).allSatisfy { $0.contains($1) })
        let toAlice = try alice.frames().map(\.bodyString)
        #expect(toAlice.count == 2 && toAlice[0].contains("c-m1") && toAlice[1].contains("c-m4"))
        #expect(broker.statistics.eventsDelivered.value == 4)
    }
}
