import NIOCore
import ParleyCodec
import Testing

@Suite struct HeadersModelTests {
    @Test func subscriptReturnsFirstAndKeepsRepeats() {
        var headers: StompHeaders = ["a": "1", "b": "2"]
        headers.add("a", "3")
        #expect(headers["a"] == "1")
        #expect(headers.values(for: "a") == ["1", "3"])
        #expect(headers.count == 3)
        headers["a"] = "9"
        #expect(headers.map { "\($0.name)=\($0.value)" } == ["a=9", "b=2", "a=3"])
        headers["c"] = "4"
        #expect(headers.count == 4 && headers["c"] == "4")
        headers["a"] = nil
        #expect(headers.map(\.name) == ["b", "c"])
        #expect(StompHeaders([("x", "1"), ("x", "2")]).values(for: "x") == ["1", "2"])
    }

    @Test func descriptionHidesCredentials() {
        let frame = StompFrame(.connect, headers: ["login": "alice", "passcode": "s3cret", "Authorization": "Bearer abc"])
        #expect(!frame.description.contains("s3cret") && !frame.description.contains("abc"))
        #expect(frame.description.contains("login:alice"))
    }

    @Test func commandsKnowWhetherTheyCarryBodies() {
        #expect(StompCommand.allKnown.filter(\.allowsBody) == [.send, .message, .error])
        #expect(StompCommand.allKnown.filter { !$0.escapesHeaders } == [.connect, .connected])
        #expect(StompCommand.allKnown.count == 15)
    }

    @Test func versionsAreOrdered() {
        #expect(StompVersion.v1_0 < .v1_1 && StompVersion.v1_1 < .v1_2)
        #expect(StompVersion.allCases.max() == .v1_2)
    }

    @Test func frameBodyString() {
        #expect(StompFrame(.send, body: "héllo").bodyString == "héllo")
        #expect(StompFrame(.send).body.readableBytes == 0)
    }

    @Test func errorDescriptionNamesKind() {
        let error = StompDecodingError(.bodyTooLarge, "too big")
        #expect(error.description == "bodyTooLarge: too big")
    }
}

@Suite struct HeartBeatTests {
    @Test func parsesHeaderValues() {
        #expect(StompHeartBeat(header: "10000,5000") == StompHeartBeat(send: 10000, receive: 5000))
        #expect(StompHeartBeat(header: "0,0") == StompHeartBeat(send: 0, receive: 0))
        #expect(StompHeartBeat(header: "10, 20") == StompHeartBeat(send: 10, receive: 20))
        for bad in ["", "1", "1,2,3", "-1,0", "a,b", "1,", ",1", "+1,2", "1.5,2", "99999999999999999999999,1"] {
            #expect(StompHeartBeat(header: bad) == nil, "\(bad)")
        }
        #expect(StompHeartBeat(send: 1, receive: 2).headerValue == "1,2")
    }

    @Test func negotiatesPerSpec() {
        // Client can send every 1000 ms and wants 2000 ms; server can send every 500 and wants 3000.
        let client = StompHeartBeat(send: 1000, receive: 2000)
        let server = StompHeartBeat(send: 500, receive: 3000)
        let clientSide = StompHeartBeat.negotiate(local: client, remote: server)
        #expect(clientSide.outgoing == 3000 && clientSide.incoming == 2000)
        let serverSide = StompHeartBeat.negotiate(local: server, remote: client)
        #expect(serverSide.outgoing == 2000 && serverSide.incoming == 3000)
    }

    @Test func zeroDisablesEitherDirection() {
        let none = StompHeartBeat(send: 0, receive: 0)
        let some = StompHeartBeat(send: 100, receive: 100)
        #expect(StompHeartBeat.negotiate(local: none, remote: some) == (0, 0))
        #expect(StompHeartBeat.negotiate(local: some, remote: none) == (0, 0))
        // RabbitMQ answers 0,500 with 1000,0: the client sends every 1000 ms and expects nothing.
        let rabbit = StompHeartBeat.negotiate(local: StompHeartBeat(send: 0, receive: 500), remote: StompHeartBeat(send: 1000, receive: 0))
        #expect(rabbit == (0, 1000))
        let sendOnly = StompHeartBeat.negotiate(local: StompHeartBeat(send: 100, receive: 0), remote: StompHeartBeat(send: 0, receive: 250))
        #expect(sendOnly == (250, 0))
    }
}

@Suite struct DecoderBehaviourTests {
    @Test func versionChangeAppliesToTheNextFrame() throws {
        var decoder = StompDecoder(version: .v1_0)
        var buffer = ByteBuffer(string: "MESSAGE\nx:a\\cb\n\n\0")
        #expect(try decoder.next(from: &buffer) == .frame(StompFrame(.message, headers: ["x": "a\\cb"])))
        decoder.version = .v1_2
        buffer.writeString("MESSAGE\nx:a\\cb\n\n\0")
        #expect(try decoder.next(from: &buffer) == .frame(StompFrame(.message, headers: ["x": "a:b"])))
    }

    @Test func consumesPartialLinesAndRemembersThem() throws {
        var decoder = StompDecoder()
        var buffer = ByteBuffer(string: "SEND\ndestination:/q")
        #expect(try decoder.next(from: &buffer) == nil)
        #expect(decoder.isInsideFrame)
        // The complete command line was consumed; the partial header line stays for the next read.
        #expect(String(buffer: buffer) == "destination:/q")
        buffer.writeString("ueue\n\nbody\0")
        #expect(try decoder.next(from: &buffer) == .frame(StompFrame(.send, headers: ["destination": "/queue"], body: "body")))
        #expect(!decoder.isInsideFrame)
    }

    @Test func errorsAreSticky() throws {
        var decoder = StompDecoder()
        var buffer = ByteBuffer(string: "SEND\nx:\\t\n\n\0")
        #expect(throws: StompDecodingError.self) { try decoder.next(from: &buffer) }
        var fresh = ByteBuffer(string: "SEND\n\n\0")
        do {
            _ = try decoder.next(from: &fresh)
            Issue.record("decoder continued after an error")
        } catch {
            #expect(error.kind == .invalidEscape)
        }
    }

    @Test func typedErrorCarriesKindAndSafeMessage() {
        var decoder = StompDecoder()
        var buffer = ByteBuffer(string: "SEND\ncontent-length:-1\n\n\0")
        #expect(throws: StompDecodingError.self) { try decoder.next(from: &buffer) }
        do {
            var buffer = ByteBuffer(string: "send\n\n\0")
            var decoder = StompDecoder()
            _ = try decoder.next(from: &buffer)
            Issue.record("lowercase command decoded")
        } catch {
            #expect(error.kind == .unknownCommand)
            #expect(!error.message.contains("send"))
        }
    }
}
