import Foundation
import ParleyRelay
import Testing

/// The hand-written event decoder must agree with the `Codable` conformance it replaces on hot paths.
@Suite struct ChatEventFastDecodingTests {
    static let accepted: [String] = [
        #"{"messageId":"m","roomId":"r","senderId":"s","receiverId":null,"content":"c","messageType":"TALK","timestamp":"t"}"#,
        #"{"messageId":"m","roomId":42,"senderId":-7,"content":"c","messageType":"ENTER","timestamp":"t"}"#,
        #"  {"timestamp":"t","content":"\u00fc\ud83d\ude00 \"q\" \\ \/ \n","messageType":"TALK","senderId":"s","roomId":"r","receiverId":"b","messageId":"m","extra":[1,{"x":"]"}],"flag":true}  "#,
        #"{"messageId":"m","roomId":"r","senderId":"s","receiverId":9,"content":"","messageType":"","timestamp":""}"#,
    ]

    static let rejected: [String] = [
        "",
        "[]",
        #"{"messageId":"m"}"#,
        #"{"messageId":1,"roomId":"r","senderId":"s","content":"c","messageType":"TALK","timestamp":"t"}"#,
        #"{"messageId":"m","roomId":1.5,"senderId":"s","content":"c","messageType":"TALK","timestamp":"t"}"#,
        #"{"messageId":"m","roomId":"r","senderId":"s","content":null,"messageType":"TALK","timestamp":"t"}"#,
        #"{"messageId":"m","roomId":"r","senderId":"s","content":"c","messageType":"TALK","timestamp":"t"} x"#,
        #"{"messageId":"m","roomId":"r","senderId":"s","content":"bad \u12","messageType":"TALK","timestamp":"t"}"#,
        "{\"messageId\":\"m\",\"roomId\":\"r\",\"senderId\":\"s\",\"content\":\"raw\ncontrol\",\"messageType\":\"TALK\",\"timestamp\":\"t\"}",
        #"{"messageId":"m","roomId":"r",}"#,
    ]

    @Test(arguments: accepted)
    func agreesWithJSONDecoderOnValidEvents(json: String) throws {
        let fast = try ChatEvent.decode(json: Array(json.utf8))
        let foundation = try JSONDecoder().decode(ChatEvent.self, from: Data(json.utf8))
        #expect(fast == foundation)
    }

    @Test(arguments: rejected)
    func refusesWhatIsNotAChatEvent(json: String) {
        #expect(throws: ChatEventDecodingError.self) { try ChatEvent.decode(json: Array(json.utf8)) }
        #expect(throws: (any Error).self) { try JSONDecoder().decode(ChatEvent.self, from: Data(json.utf8)) }
    }

    @Test func errorsNameTheField() {
        let missing = #"{"messageId":"m","roomId":"r","senderId":"s","messageType":"TALK","timestamp":"t"}"#
        #expect(throws: ChatEventDecodingError(reason: "missing field 'content'")) { try ChatEvent.decode(json: Array(missing.utf8)) }
        let wrong = #"{"messageId":"m","roomId":true,"senderId":"s","content":"c","messageType":"TALK","timestamp":"t"}"#
        #expect(throws: ChatEventDecodingError(reason: "field 'roomId' has the wrong type")) { try ChatEvent.decode(json: Array(wrong.utf8)) }
    }

    @Test func roundTripsEncodedEventsFromNonContiguousInput() throws {
        let event = ChatEvent(
            messageId: "m-9", roomId: "kitchen", senderId: "alice", receiverId: "bob",
            content: "tab\t quote\" ünï 😀", messageType: "TALK", timestamp: "2026-11-25T10:00:00.000Z")
        #expect(try ChatEvent.decode(json: event.jsonBytes) == event)
        // A lazily mapped collection has no contiguous storage: the copy path decodes it too.
        #expect(try ChatEvent.decode(json: event.jsonBytes.lazy.map { $0 }) == event)
    }
}
