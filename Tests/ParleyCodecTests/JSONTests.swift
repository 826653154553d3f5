import Foundation
import NIOCore
import ParleyCodec
import ParleyCodecJSON
import Testing

@Suite struct FrameJSONTests {
    @Test func textAndBinaryBodiesRoundTrip() throws {
        var binary = ByteBuffer()
        binary.writeBytes([0xFF, 0x00, 0x41])
        for item: StompDecoded in [
            .heartBeat,
            .frame(StompFrame(.send, headers: [("destination", "/q"), ("x", "1"), ("x", "2")].reduce(into: StompHeaders()) { $0.add($1.0, $1.1) }, body: "hé\n")),
            .frame(StompFrame(.message, headers: ["a": "b"], body: binary)),
        ] {
            let text = StompJSON.string(for: item)
            #expect(!text.contains("\n"))
            #expect(try StompJSON.items(from: Data(text.utf8)) == [item])
        }
        let binaryText = StompJSON.string(for: .frame(StompFrame(.message, body: binary)))
        #expect(binaryText.contains(#""bodyBase64":"/wBB""#))
        #expect(StompJSON.string(for: .heartBeat) == #"{"heartBeat":true}"#)
        let ordered = StompJSON.string(for: .frame(StompFrame(.send, headers: ["d": "\u{1}\"\\/"], body: "x")))
        #expect(ordered == #"{"command":"SEND","headers":[["d","\u0001\"\\/"]],"body":"x"}"#)
        let pretty = StompJSON.string(for: .frame(StompFrame(.send, headers: ["d": "q"], body: "x")), pretty: true)
        #expect(pretty == "{\n  \"command\": \"SEND\",\n  \"headers\": [\n    [\"d\", \"q\"]\n  ],\n  \"body\": \"x\"\n}")
        #expect(try StompJSON.items(from: Data(pretty.utf8)).count == 1)
    }

    @Test func readsArraysAndLines() throws {
        let lines = "{\"command\":\"SEND\",\"headers\":[[\"destination\",\"/q\"]],\"body\":\"x\"}\n\n{\"heartBeat\":true}\n"
        #expect(try StompJSON.items(from: Data(lines.utf8)).count == 2)
        let array = "[{\"command\":\"ACK\",\"headers\":[[\"id\",\"1\"]]},{\"heartBeat\":true}]"
        #expect(try StompJSON.items(from: Data(array.utf8)) == [.frame(StompFrame(.ack, headers: ["id": "1"])), .heartBeat])
    }

    @Test(arguments: [
        (#"{"command":"SEND","headers":[["a"]]}"#, "pair"),
        (#"{"command":"SEND","body":"x","bodyBase64":"eA=="}"#, "not both"),
        (#"{"command":"SEND","bodyBase64":"%%%"}"#, "base64"),
        (#"{"headers":[]}"#, "command"),
        (#"{"command":"SEND","colour":"red"}"#, "unknown key"),
        (#"{"heartBeat":false}"#, "heart-beat"),
        (#"{"command":"SE\nND"}"#, "single-line"),
        ("not json", "line 1"),
    ])
    func rejectsBadJSONWithClearMessages(input: String, expectedFragment: String) {
        do {
            _ = try StompJSON.items(from: Data(input.utf8))
            Issue.record("accepted \(input)")
        } catch {
            #expect(error.message.contains(expectedFragment), "\(error.message)")
        }
    }
}
