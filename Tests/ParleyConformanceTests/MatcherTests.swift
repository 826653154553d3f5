import ParleyCodec
import ParleyConformance
import Testing

@Suite struct ValueMatcherTests {
    @Test func eachMatcherAcceptsAndRejects() {
        #expect(FrameMatcher.check("a", .equals("a"), what: "x") == nil)
        #expect(FrameMatcher.check("b", .equals("a"), what: "x") == #"x is "b", expected "a""#)
        #expect(FrameMatcher.check(nil, .equals("a"), what: "x") == #"x is absent, expected "a""#)
        #expect(FrameMatcher.check("abc", .contains("b"), what: "x") == nil)
        #expect(FrameMatcher.check("abc", .contains("z"), what: "x") != nil)
        #expect(FrameMatcher.check("v1.2", .regex(#"^v\d\.\d$"#), what: "x") == nil)
        #expect(FrameMatcher.check("v12", .regex(#"^v\d\.\d$"#), what: "x") != nil)
        #expect(FrameMatcher.check("", .present, what: "x") == nil)
        #expect(FrameMatcher.check(nil, .present, what: "x") == "x is absent, expected present")
        #expect(FrameMatcher.check(nil, .absent, what: "x") == nil)
        #expect(FrameMatcher.check("1", .absent, what: "x") == #"x is "1", expected absent"#)
        #expect(FrameMatcher.check("", .empty, what: "x") == nil)
        #expect(FrameMatcher.check("a", .empty, what: "x") != nil)
        #expect(FrameMatcher.check("a", .notEquals("b"), what: "x") == nil)
        #expect(FrameMatcher.check("b", .notEquals("b"), what: "x") != nil)
    }

    @Test func controlCharactersAreShownEscaped() {
        #expect(FrameMatcher.check("a\nb\0", .equals("x"), what: "body") == #"body is "a\nb\0", expected "x""#)
    }
}

@Suite struct FrameMatcherTests {
    let message = StompFrame(
        .message,
        headers: ["destination": "/topic/rooms.a", "subscription": "s", "message-id": "7"],
        body: #"{"content": "hi", "senderId": 42, "nested": {"ok": true}}"#)

    @Test func matchingFrameHasNoMismatches() {
        let expectation = FrameExpectation(
            command: "MESSAGE", headers: [HeaderMatch("destination", .equals("/topic/rooms.a")), HeaderMatch("ack", .absent)],
            content: .equals("hi"), json: [JSONFieldMatch("senderId", .equals("42")), JSONFieldMatch("nested.ok", .equals("true"))])
        #expect(FrameMatcher(contentField: "content").mismatches(message, against: expectation).isEmpty)
    }

    @Test func everyMismatchIsListed() {
        let expectation = FrameExpectation(
            command: "MESSAGE", headers: [HeaderMatch("subscription", .equals("t"))], body: .contains("bye"),
            json: [JSONFieldMatch("missing", .present)])
        let problems = FrameMatcher().mismatches(message, against: expectation)
        #expect(problems.count == 3)
        #expect(problems[0] == #"header subscription is "s", expected "t""#)
        #expect(problems[2] == "json missing is absent, expected present")
    }

    @Test func wrongCommandStopsEarly() {
        let problems = FrameMatcher().mismatches(message, against: FrameExpectation(command: "ERROR", headers: [HeaderMatch("message", .present)]))
        #expect(problems == ["command is MESSAGE, expected ERROR"])
    }

    @Test func contentWithoutFieldIsTheWholeBody() {
        let plain = StompFrame(.message, headers: ["destination": "/queue/x"], body: "hello")
        #expect(FrameMatcher().mismatches(plain, against: FrameExpectation(command: "MESSAGE", content: .equals("hello"))).isEmpty)
        #expect(!FrameMatcher(contentField: "content").mismatches(plain, against: FrameExpectation(command: "MESSAGE", content: .equals("hello"))).isEmpty)
    }

    @Test func nonJSONBodyFailsJSONMatchers() {
        let plain = StompFrame(.message, body: "hello")
        let problems = FrameMatcher().mismatches(plain, against: FrameExpectation(command: "MESSAGE", json: [JSONFieldMatch("a", .present)]))
        #expect(problems == ["body is not JSON, expected fields a"])
    }
}

@Suite struct WireTextTests {
    @Test func framesRenderAsOnTheWire() {
        let frame = StompFrame(.message, headers: ["destination": "/q", "x": "a:b\nc"], body: "hi\0there\u{1}")
        #expect(WireText.render(frame) == "MESSAGE\ndestination:/q\nx:a\\cb\\nc\ncontent-length:9\n\nhi^@there\\x01^@")
    }

    @Test func invalidUTF8IsShownAsHex() {
        #expect(WireText.render(bytes: [0x41, 0xFF, 0xC3, 0xA9, 0x0D]) == "A\\xFFé\\r")
    }
}
