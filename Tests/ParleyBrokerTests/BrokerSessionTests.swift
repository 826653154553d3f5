import NIOCore
import NIOEmbedded
import ParleyBroker
import ParleyCodec
import ParleyRelay
import Testing

@Suite struct ConnectTests {
    @Test func connectNegotiatesHighestCommonVersionAndDescribesSession() async throws {
        let broker = try await makeBroker()
        let session = try TestSession(broker, loop: EmbeddedEventLoop())
        let connected = try session.connect("alice", acceptVersion: "1.0,1.1,1.2", heartBeat: "0,0")
        #expect(connected.headers["version"] == "1.2")
        #expect(connected.headers["heart-beat"] == "0,0")
        #expect(connected.headers["server"] == "Parley/\(ParleyBrokerVersion.current)")
        #expect(connected.headers["user-name"] == "alice")
        #expect(connected.headers["session"]?.isEmpty == false)
        #expect(broker.statistics.sessionsConnected.value == 1)
    }

    @Test func absentAcceptVersionMeans1_0AndStompCommandWorks() async throws {
        let broker = try await makeBroker()
        let session = try TestSession(broker, loop: EmbeddedEventLoop())
        try session.send(.connect, [("passcode", "token-bob")])
        #expect(try session.frame().headers["version"] == "1.0")
        let other = try TestSession(broker, loop: EmbeddedEventLoop())
        try other.send(.stomp, [("accept-version", "1.1"), ("host", "/"), ("authorization", "bearer token-bob")])
        let connected = try other.frame()
        #expect(connected.command == .connected && connected.headers["version"] == "1.1")
    }

    @Test func maxVersionFromTransportCapsNegotiation() async throws {
        let broker = try await makeBroker()
        let session = try TestSession(broker, loop: EmbeddedEventLoop(), maxVersion: .v1_1)
        #expect(try session.connect("alice", acceptVersion: "1.1,1.2").headers["version"] == "1.1")
    }

    @Test func noCommonVersionGetsErrorListingSupportedVersions() async throws {
        let broker = try await makeBroker()
        let session = try TestSession(broker, loop: EmbeddedEventLoop())
        try session.send(.connect, [("accept-version", "2.0,3.1"), ("Authorization", "Bearer token-alice")])
        let error = try session.frame()
        #expect(error.command == .error)
        #expect(error.headers["version"] == "1.0,1.1,1.2")
        #expect(session.isClosed)
    }

    @Test(arguments: [
        ([("accept-version", "1.2")], "missing access token"),
        ([("accept-version", "1.2"), ("Authorization", "Bearer expired")], "access token expired"),
        ([("accept-version", "1.2"), ("Authorization", "Bearer forged")], "invalid access token signature"),
        ([("accept-version", "1.2"), ("passcode", "refresh-token")], "refresh token cannot be used"),
        ([("accept-version", "1.2"), ("Authorization", "Bearer explode")], "invalid access token"),
        ([("accept-version", "1.2"), ("Authorization", "Basic dXNlcjpwYXNz")], "missing access token"),
    ])
    func badTokensGetErrorThenClose(headers: [(String, String)], message: String) async throws {
        let broker = try await makeBroker()
        let session = try TestSession(broker, loop: EmbeddedEventLoop())
        try session.send(.connect, headers + [("receipt", "c1")])
        try session.expectError(containing: message, receiptId: "c1")
        #expect(broker.statistics.authenticationFailures.value == 1)
    }

    @Test func onlyConnectIsAcceptedBeforeAuthentication() async throws {
        let broker = try await makeBroker()
        let session = try TestSession(broker, loop: EmbeddedEventLoop())
        try session.send(.subscribe, [("id", "1"), ("destination", "/topic/x"), ("receipt", "r")])
        try session.expectError(containing: "expected a CONNECT or STOMP frame first", receiptId: "r")
    }

    @Test func preAuthenticationFrameSizeIsSmall() async throws {
        let broker = try await makeBroker()
        let session = try TestSession(broker, loop: EmbeddedEventLoop())
        try session.sendRaw("CONNECT\naccept-version:1.2\nx:" + String(repeating: "a", count: 20_000) + "\n\n\0")
        let error = try session.frame()
        #expect(error.command == .error)
        #expect(session.isClosed)
        // After CONNECT the normal limits apply: the same header length is fine.
        let big = try TestSession(broker, loop: EmbeddedEventLoop())
        try big.connect("alice")
        try big.send(.subscribe, [("id", "1"), ("destination", "/topic/x"), ("x", String(repeating: "a", count: 7000)), ("receipt", "ok")])
        #expect(try big.frame().command == .receipt)
    }

    @Test func connectTimesOutWhenNeverSent() async throws {
        let loop = EmbeddedEventLoop()
        let broker = try await makeBroker(BrokerConfiguration(connectTimeout: .seconds(3)))
        let session = try TestSession(broker, loop: loop)
        loop.advanceTime(by: .seconds(3))
        try session.expectError(containing: "no CONNECT")
    }

    @Test func secondConnectIsAnError() async throws {
        let broker = try await makeBroker()
        let session = try TestSession(broker, loop: EmbeddedEventLoop())
        try session.connect("alice")
        try session.send(.connect, [("accept-version", "1.2"), ("Authorization", "Bearer token-alice"), ("receipt", "again")])
        try session.expectError(containing: "already connected", receiptId: "again")
    }

    @Test func malformedFrameAfterConnectIsAnError() async throws {
        let broker = try await makeBroker()
        let session = try TestSession(broker, loop: EmbeddedEventLoop())
        try session.connect("alice")
        try session.sendRaw("FROB\n\n\0")
        #expect(try session.frame().command == .error)
        #expect(session.isClosed)
        #expect(broker.statistics.protocolErrors.value == 1)
    }
}

@Suite struct HeartBeatTests {
    @Test func negotiatesAndSendsHeartBeatsWhenIdle() async throws {
        let loop = EmbeddedEventLoop()
        let broker = try await makeBroker()
        let session = try TestSession(broker, loop: loop)
        let connected = try session.connect("alice", heartBeat: "0,2000")
        // Server can send every 10 s; the client wants every 2 s → 10 s. The client sends none → 0.
        #expect(connected.headers["heart-beat"] == "10000,0")
        loop.advanceTime(by: .seconds(10))
        #expect(try session.received() == [.heartBeat])
        loop.advanceTime(by: .seconds(10))
        #expect(try session.received() == [.heartBeat])
        #expect(!session.isClosed)
    }

    @Test func silentClientIsDisconnectedPastTolerance() async throws {
        let loop = EmbeddedEventLoop()
        let broker = try await makeBroker(BrokerConfiguration(heartBeat: StompHeartBeat(send: 0, receive: 1000)))
        let session = try TestSession(broker, loop: loop)
        #expect(try session.connect("alice", heartBeat: "500,0").headers["heart-beat"] == "0,1000")
        for _ in 0..<5 {
            loop.advanceTime(by: .milliseconds(900))
            try session.sendRaw("\n")
        }
        #expect(!session.isClosed, "a client that beats stays connected")
        #expect(try session.frames().isEmpty)
        loop.advanceTime(by: .milliseconds(3000))
        try session.expectError(containing: "heart-beat timeout")
    }

    @Test func version1_0HasNoHeartBeats() async throws {
        let broker = try await makeBroker()
        let session = try TestSession(broker, loop: EmbeddedEventLoop())
        #expect(try session.connect("alice", acceptVersion: "1.0", heartBeat: "1000,1000").headers["heart-beat"] == "0,0")
    }

    @Test func malformedHeartBeatIsAnError() async throws {
        let broker = try await makeBroker()
        let session = try TestSession(broker, loop: EmbeddedEventLoop())
        try session.send(.connect, [("accept-version", "1.2"), ("heart-beat", "soon"), ("Authorization", "Bearer token-a")])
        try session.expectError(containing: "invalid heart-beat")
    }
}

@Suite struct ReceiptAndSubscriptionTests {
    @Test func disconnectReceiptComesBeforeClose() async throws {
        let broker = try await makeBroker()
        let session = try TestSession(broker, loop: EmbeddedEventLoop())
        try session.connect("alice")
        try session.send(.disconnect, [("receipt", "bye")])
        let receipt = try session.frame()
        #expect(receipt.command == .receipt && receipt.headers["receipt-id"] == "bye")
        #expect(session.isClosed)
        #expect(broker.sessionCount == 0)
    }

    @Test func duplicateSubscriptionIdIsAnError() async throws {
        let broker = try await makeBroker()
        let session = try TestSession(broker, loop: EmbeddedEventLoop())
        try session.connect("alice")
        try session.subscribe("s1", "/topic/a")
        try session.send(.subscribe, [("id", "s1"), ("destination", "/topic/b"), ("receipt", "dup")])
        try session.expectError(containing: "already in use", receiptId: "dup")
    }

    @Test func unsubscribeStopsDeliveryAndUnknownIdIsAnError() async throws {
        let loop = EmbeddedEventLoop()
        let broker = try await makeBroker()
        let alice = try TestSession(broker, loop: loop)
        try alice.connect("alice")
        try alice.subscribe("s1", "/topic/a")
        try alice.send(.unsubscribe, [("id", "s1"), ("receipt", "u")])
        #expect(try alice.frame().command == .receipt)
        try alice.send(.send, [("destination", "/topic/a")], body: "x")
        #expect(try alice.frames().isEmpty)
        try alice.send(.unsubscribe, [("id", "s1"), ("receipt", "u2")])
        try alice.expectError(containing: "no subscription with id 's1'", receiptId: "u2")
    }

    @Test func subscribeRequiresIdAndValidAckMode() async throws {
        let broker = try await makeBroker()
        let a = try TestSession(broker, loop: EmbeddedEventLoop())
        try a.connect("alice")
        try a.send(.subscribe, [("destination", "/topic/a")])
        try a.expectError(containing: "requires an id")
        let b = try TestSession(broker, loop: EmbeddedEventLoop())
        try b.connect("bob")
        try b.send(.subscribe, [("id", "1"), ("destination", "/topic/a"), ("ack", "sometimes")])
        try b.expectError(containing: "invalid ack mode")
    }

    @Test(arguments: [
        ("/queue/a", "allowed prefixes are /app, /topic, /user/queue"),
        ("/exchange/x", "allowed prefixes are /app, /topic, /user/queue"),
        ("/topic/", "allowed prefixes"),
        ("/user/bob/queue/messages", "another user's queue"),
        ("/app/chat.sendMessage", "accept SEND only"),
    ])
    func subscribeToForbiddenDestinationIsAnError(destination: String, message: String) async throws {
        let broker = try await makeBroker()
        let session = try TestSession(broker, loop: EmbeddedEventLoop())
        try session.connect("alice")
        try session.send(.subscribe, [("id", "1"), ("destination", destination), ("receipt", "s")])
        try session.expectError(containing: message, receiptId: "s")
    }

    @Test(arguments: [
        ("/app/chat.other", "{}", "unknown application destination"),
        ("/app/chat.sendMessage", "not json", "invalid chat message"),
        ("/app/chat.sendMessage", #"{"roomId":"r"}"#, "missing field 'content'"),
        ("/app/chat.sendMessage", #"{"roomId":"","content":"x"}"#, "'roomId' must not be empty"),
        ("/app/chat.sendMessage", #"{"roomId":["r"],"content":"x"}"#, "roomId"),
        ("/user/queue/messages", "{}", "cannot SEND to user queues"),
        ("/queue/x", "{}", "allowed prefixes are /app, /topic, /user/queue"),
    ])
    func sendToBadDestinationOrBadBodyIsAnError(destination: String, body: String, message: String) async throws {
        let broker = try await makeBroker()
        let session = try TestSession(broker, loop: EmbeddedEventLoop())
        try session.connect("alice")
        try session.send(.send, [("destination", destination), ("receipt", "x")], body: body)
        try session.expectError(containing: message, receiptId: "x")
    }

    @Test func headerValuesAreEscapedInMessages() async throws {
        let loop = EmbeddedEventLoop()
        let broker = try await makeBroker()
        let session = try TestSession(broker, loop: loop)
        try session.connect("alice")
        try session.subscribe("a:b\\c", "/topic/x")
        try session.send(.send, [("destination", "/topic/x"), ("content-type", "text/plain")], body: "payload")
        let message = try session.frame()
        #expect(message.command == .message)
        #expect(message.headers["subscription"] == "a:b\\c")
        #expect(message.headers["content-type"] == "text/plain")
        #expect(message.headers["content-length"] == "7")
        #expect(message.bodyString == "payload")
        #expect(message.headers["ack"] == nil)
    }
}
