import Foundation
import ParleyRelay
import Testing

@Suite struct ChatMessageDecodingTests {
    func decode(_ json: String) throws(ChatMessageDecodingError) -> ChatMessage {
        try ChatMessage.decode(json: Array(json.utf8))
    }

    @Test func agreesWithCodableOnValidBodies() throws {
        let bodies = [
            #"{"roomId":"r","content":"hi"}"#,
            #" { "roomId" : 42 , "receiverId" : 7 , "content" : "a\"b\\c\/d\n\t\u00e9\ud83d\ude00", "messageType" : "ENTER", "senderId": null } "#,
            #"{"roomId":"r","content":"x","receiverId":null,"extra":{"nested":["]",{"}":1}]},"flag":true,"n":-1.5e3}"#,
            #"{"content":"ünïcödé 🎉","roomId":"-12"}"#,
        ]
        for body in bodies {
            let expected = try JSONDecoder().decode(ChatMessage.self, from: Data(body.utf8))
            #expect(try decode(body) == expected, "\(body)")
        }
    }

    @Test(arguments: [
        "", "[]", "{", #"{"roomId":"r","content":"x"} trailing"#, #"{"roomId":"r","content":"x",}"#,
        #"{"roomId":"r","content":"bad \x escape"}"#, #"{"roomId":"r","content":"\ud800"}"#, #"{'roomId':'r'}"#,
        "{\"roomId\":\"r\",\"content\":\"raw\nnewline\"}", #"{"roomId":01,"content":"x"}"#,
    ])
    func rejectsInvalidJSON(body: String) {
        #expect(throws: ChatMessageDecodingError.self) { try decode(body) }
    }

    @Test func reportsMissingAndMistypedFields() {
        #expect(throws: ChatMessageDecodingError.self) { try decode(#"{"content":"x"}"#) }
        do {
            _ = try decode(#"{"roomId":true,"content":"x"}"#)
            Issue.record("accepted a boolean roomId")
        } catch {
            #expect(error.message == "field 'roomId' has the wrong type")
        }
        do {
            _ = try decode(#"{"roomId":"r","content":5}"#)
            Issue.record("accepted a numeric content")
        } catch {
            #expect(error.message == "field 'content' has the wrong type")
        }
    }

    @Test func emptyReceiverMeansRoomMessage() throws {
        #expect(try decode(#"{"roomId":"r","content":"x","receiverId":""}"#).receiverId == nil)
    }
}
