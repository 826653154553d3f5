import Foundation
import ParleyRelay
import Testing

@Suite struct ChatEventTests {
    @Test func jsonRoundTripsWithEscapes() throws {
        let event = ChatEvent(
            messageId: "m-1", roomId: "42", senderId: "7", receiverId: nil,
            content: "line1\n\"quoted\" \\ tab\t \u{01} ünï", messageType: "TALK", timestamp: "2026-11-25T10:00:00.000Z")
        let bytes = event.jsonBytes
        #expect(try ChatEvent.decode(json: bytes) == event)
        let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        #expect(object?["receiverId"] is NSNull)
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix(#"{"messageId":"m-1","roomId":"42""#))
    }

    @Test func messageAcceptsNumericIdsAndDefaultsType() throws {
        let json = #"{"roomId": 3, "receiverId": 9, "content": "hi", "senderId": 1}"#
        let message = try JSONDecoder().decode(ChatMessage.self, from: Data(json.utf8))
        #expect(message == ChatMessage(roomId: "3", receiverId: "9", content: "hi", messageType: "TALK", senderId: "1"))
    }

    @Test func messageRejectsMissingContent() {
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ChatMessage.self, from: Data(#"{"roomId":"1"}"#.utf8))
        }
    }

    @Test func acceptedEventUsesPrincipalAndFreshId() throws {
        let message = ChatMessage(roomId: "r", receiverId: "b", content: "x", senderId: "mallory")
        let a = ChatEvent(accepting: message, from: "alice")
        let b = ChatEvent(accepting: message, from: "alice")
        #expect(a.senderId == "alice")
        #expect(a.messageId != b.messageId)
        #expect(a.roomTopic == "/topic/rooms.r")
        #expect(a.timestamp.hasSuffix("Z"))
    }

    final class Collect: ChatEventSink, @unchecked Sendable {
        let lock = NSLock()
        var events: [ChatEvent] = []
        func deliver(_ event: ChatEvent) { lock.withLock { events.append(event) } }
    }

    @Test func inProcessRelayDeliversOnlyWhileRunning() async throws {
        let relay = InProcessRelay()
        let event = ChatEvent(accepting: ChatMessage(roomId: "r", content: "x"), from: "a")
        await #expect(throws: ChatRelayError.notRunning) { try await relay.publish(event) }
        let sink = Collect()
        try await relay.start(deliveringTo: sink)
        try await relay.publish(event)
        #expect(sink.events == [event])
        await relay.shutdown()
        await #expect(throws: ChatRelayError.notRunning) { try await relay.publish(event) }
    }
}

@Suite struct TimestampTests {
    @Test(arguments: [0.0, 951_782_400.5, 1_795_000_000.123, 4_102_444_799.999, 1_709_164_800.0, -86_400.25])
    func matchesFoundationISO8601(seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        let expected = date.formatted(
            .iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
        #expect(ChatEvent.formatTimestamp(date) == expected)
    }
}

@Suite struct MessageIdTests {
    @Test func idsAreUniqueLowercaseUUIDv4() {
        let ids = (0..<10_000).map { _ in ChatEvent.makeMessageId() }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(100) {
            let uuid = UUID(uuidString: id)
            #expect(uuid != nil && id == id.lowercased(), "\(id)")
            #expect(Array(id)[14] == "4")
            #expect("89ab".contains(Array(id)[19]))
        }
    }
}
