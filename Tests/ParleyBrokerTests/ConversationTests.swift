import Foundation
import NIOCore
import NIOEmbedded
import ParleyBroker
import ParleyCodec
import ParleyRelay
import Testing

/// Two users with two sessions each on one event loop, as the multi-client rules need.
struct Conversation {
    let loop = EmbeddedEventLoop()
    let broker: StompBroker
    let alice1: TestSession, alice2: TestSession, bob1: TestSession, bob2: TestSession

    init(relay: any ChatRelay = InProcessRelay(), configuration: BrokerConfiguration = testConfiguration, ack: String = "auto") async throws {
        broker = try await makeBroker(configuration, relay: relay)
        alice1 = try TestSession(broker, loop: loop)
        alice2 = try TestSession(broker, loop: loop)
        bob1 = try TestSession(broker, loop: loop)
        bob2 = try TestSession(broker, loop: loop)
        for (session, user) in [(alice1, "alice"), (alice2, "alice"), (bob1, "bob"), (bob2, "bob")] {
            try session.connect(user)
            try session.subscribe("dm", "/user/queue/messages", ack: ack)
        }
    }

    var all: [TestSession] { [alice1, alice2, bob1, bob2] }
}

func decodeEvent(_ frame: StompFrame) throws -> ChatEvent {
    try ChatEvent.decode(json: Array(frame.body.readableBytesView))
}

@Suite struct ChatDeliveryTests {
    @Test func directMessageReachesEveryReceiverSessionAndSendersOtherSessions() async throws {
        let chat = try await Conversation()
        try chat.alice1.sendChat(chatJSON(room: "r1", to: "bob", content: "hello bob"), receipt: "m1")
        let receipt = try chat.alice1.frame()
        #expect(receipt.command == .receipt && receipt.headers["receipt-id"] == "m1")
        for session in [chat.bob1, chat.bob2, chat.alice2] {
            let message = try session.frame()
            #expect(message.command == .message)
            #expect(message.headers["destination"] == "/user/queue/messages")
            #expect(message.headers["subscription"] == "dm")
            #expect(message.headers["content-type"] == "application/json")
            #expect(message.headers["content-length"] == String(message.body.readableBytes))
            #expect(message.headers["message-id"] != nil)
            let event = try decodeEvent(message)
            #expect(event.senderId == "alice" && event.receiverId == "bob" && event.content == "hello bob" && event.roomId == "r1")
        }
        #expect(try chat.alice1.frames().isEmpty, "the sending session gets only its RECEIPT")
    }

    @Test func directMessageToYourselfReachesAllYourSessions() async throws {
        let chat = try await Conversation()
        try chat.alice1.sendChat(chatJSON(to: "alice", content: "note"))
        #expect(try chat.alice1.frame().command == .message)
        #expect(try chat.alice2.frame().command == .message)
        #expect(try chat.bob1.frames().isEmpty)
    }

    @Test func roomMessageGoesToRoomTopicSubscribersOnly() async throws {
        let chat = try await Conversation()
        try chat.alice1.subscribe("room", "/topic/rooms.42")
        try chat.bob2.subscribe("room", "/topic/rooms.42")
        try chat.bob1.subscribe("other", "/topic/rooms.7")
        try chat.bob2.sendChat(#"{"roomId": 42, "content": "to the room", "senderId": "bob"}"#, receipt: "r")
        #expect(try chat.bob2.received().count == 2, "RECEIPT and own room MESSAGE")
        let message = try chat.alice1.frame()
        #expect(message.headers["destination"] == "/topic/rooms.42")
        #expect(message.headers["subscription"] == "room")
        let event = try decodeEvent(message)
        #expect(event.senderId == "bob" && event.receiverId == nil && event.roomId == "42")
        #expect(try chat.bob1.frames().isEmpty && chat.alice2.frames().isEmpty)
    }

    @Test func mismatchingSenderIdIsRejected() async throws {
        let chat = try await Conversation()
        try chat.alice1.sendChat(chatJSON(to: "bob", sender: "bob"), receipt: "spoof")
        try chat.alice1.expectError(containing: "senderId does not match the authenticated user", receiptId: "spoof")
        #expect(try chat.bob1.frames().isEmpty && chat.bob2.frames().isEmpty)
        // A matching senderId is fine.
        try chat.alice2.sendChat(chatJSON(to: "bob", sender: "alice"), receipt: "ok")
        #expect(try chat.alice2.frame().command == .receipt)
        #expect(try chat.bob1.frame().command == .message)
    }

    @Test func clientsMaySendToTopicsDirectly() async throws {
        let chat = try await Conversation()
        try chat.bob1.subscribe("t", "/topic/news")
        try chat.alice1.send(.send, [("destination", "/topic/news"), ("receipt", "t1")], body: "extra!")
        #expect(try chat.alice1.frame().command == .receipt)
        let message = try chat.bob1.frame()
        #expect(message.headers["destination"] == "/topic/news" && message.bodyString == "extra!")
        #expect(message.headers["content-type"] == nil)
    }

    @Test func receiptWaitsForRelayAndRelayFailureIsAnError() async throws {
        let relay = ManualRelay()
        let chat = try await Conversation(relay: relay)
        try chat.alice1.sendChat(chatJSON(to: "bob"), receipt: "later")
        #expect(try chat.alice1.frames().isEmpty, "no RECEIPT before the relay accepted the event")
        relay.completeNext()
        #expect(try chat.alice1.frame().headers["receipt-id"] == "later")
        #expect(try chat.bob1.frame().command == .message)
        try chat.alice1.sendChat(chatJSON(to: "bob"), receipt: "fails")
        relay.completeNext(with: ChatRelayError("kafka unavailable"))
        try chat.alice1.expectError(containing: "kafka unavailable", receiptId: "fails")
    }

    @Test func relayThatIsNotRunningFailsTheSend() async throws {
        let relay = InProcessRelay()
        let chat = try await Conversation(relay: relay)
        await relay.shutdown()
        try chat.alice1.sendChat(chatJSON(to: "bob"))
        try chat.alice1.expectError(containing: "relay is not running")
    }

    @Test func otherUsersQueueCannotBeRead() async throws {
        let chat = try await Conversation()
        try chat.bob1.send(.subscribe, [("id", "spy"), ("destination", "/user/alice/queue/messages")])
        try chat.bob1.expectError(containing: "another user's queue")
        try chat.bob2.sendChat(chatJSON(to: "alice", content: "secret"))
        #expect(try chat.alice1.frame().command == .message)
        #expect(try chat.bob1.frames().isEmpty)
    }

    @Test func ordersAreKeptPerSender() async throws {
        let chat = try await Conversation()
        for index in 0..<50 { try chat.alice1.sendChat(chatJSON(to: "bob", content: "m\(index)")) }
        let contents = try chat.bob1.frames().map { try decodeEvent($0).content }
        #expect(contents == (0..<50).map { "m\($0)" })
        let ids = try chat.bob2.frames().map { $0.headers["message-id"]! }
        #expect(Set(ids).count == 50)
    }
}

@Suite struct AcknowledgementTests {
    @Test func clientIndividualAckSettlesOneMessage() async throws {
        let chat = try await Conversation(ack: "client-individual")
        try chat.alice1.sendChat(chatJSON(to: "bob", content: "one"))
        try chat.alice1.sendChat(chatJSON(to: "bob", content: "two"))
        let messages = try chat.bob1.frames()
        #expect(messages.count == 2)
        #expect(messages.allSatisfy { $0.headers["ack"] != nil })
        try chat.bob1.send(.ack, [("id", messages[1].headers["ack"]!), ("receipt", "a")])
        #expect(try chat.bob1.frame().command == .receipt)
        _ = try chat.bob2.frames()
        // Closing bob1 now redelivers only "one" (unacked) to bob2.
        try chat.bob1.send(.disconnect, [])
        let redelivered = try chat.bob2.frames()
        #expect(redelivered.count == 1)
        #expect(try decodeEvent(redelivered[0]).content == "one")
        #expect(redelivered[0].headers["redelivered"] == "true")
    }

    @Test func clientAckIsCumulative() async throws {
        let chat = try await Conversation(ack: "client")
        for index in 0..<3 { try chat.alice1.sendChat(chatJSON(to: "bob", content: "c\(index)")) }
        let messages = try chat.bob1.frames()
        try chat.bob1.send(.ack, [("id", messages[1].headers["ack"]!)])
        // Acking the second settled the first too: acking the first again is an error.
        try chat.bob1.send(.ack, [("id", messages[0].headers["ack"]!), ("receipt", "again")])
        try chat.bob1.expectError(containing: "no unacknowledged message", receiptId: "again")
        let redelivered = try chat.bob2.frames().filter { $0.headers["redelivered"] == "true" }
        #expect(try redelivered.map { try decodeEvent($0).content } == ["c2"])
    }

    @Test func nackRedeliversToAnotherSessionOfTheSameUser() async throws {
        let chat = try await Conversation(ack: "client-individual")
        try chat.alice1.sendChat(chatJSON(to: "bob", content: "nacked"))
        let message = try chat.bob1.frame()
        _ = try chat.bob2.frames()
        try chat.bob1.send(.nack, [("id", message.headers["ack"]!), ("receipt", "n")])
        #expect(try chat.bob1.frame().command == .receipt)
        let redelivered = try chat.bob2.frame()
        #expect(redelivered.headers["redelivered"] == "true")
        #expect(try decodeEvent(redelivered).content == "nacked")
        #expect(try chat.alice1.frames().isEmpty && chat.alice2.frames().allSatisfy { $0.headers["redelivered"] == nil })
    }

    @Test func version1_1AcksByMessageIdAndSubscription() async throws {
        let loop = EmbeddedEventLoop()
        let broker = try await makeBroker()
        let bob = try TestSession(broker, loop: loop)
        try bob.connect("bob", acceptVersion: "1.1")
        try bob.subscribe("q", "/user/queue/messages", ack: "client")
        let alice = try TestSession(broker, loop: loop)
        try alice.connect("alice")
        try alice.sendChat(chatJSON(to: "bob"))
        let message = try bob.frame()
        #expect(message.headers["ack"] == nil, "1.1 has no ack header")
        let id = try #require(message.headers["message-id"])
        try bob.send(.ack, [("message-id", id), ("subscription", "q"), ("receipt", "ok")])
        #expect(try bob.frame().command == .receipt)
        try alice.sendChat(chatJSON(to: "bob"))
        let second = try bob.frame()
        try bob.send(.ack, [("message-id", second.headers["message-id"]!), ("subscription", "wrong")])
        try bob.expectError(containing: "must name its subscription 'q'")
    }

    @Test func ackOfUnknownIdIsAnError() async throws {
        let chat = try await Conversation(ack: "client")
        try chat.bob1.send(.ack, [("id", "nope"), ("receipt", "x")])
        try chat.bob1.expectError(containing: "no unacknowledged message with id 'nope'", receiptId: "x")
    }

    @Test func autoAckMessagesAreNotRedelivered() async throws {
        let chat = try await Conversation()
        try chat.alice1.sendChat(chatJSON(to: "bob"))
        #expect(try chat.bob1.frame().headers["ack"] == nil)
        _ = try chat.bob2.frames()
        try chat.bob1.send(.disconnect, [])
        #expect(try chat.bob2.frames().isEmpty)
    }
}

@Suite struct TransactionTests {
    @Test func commitAppliesBufferedSendsAndAbortDropsThem() async throws {
        let chat = try await Conversation()
        try chat.alice1.send(.begin, [("transaction", "t1")])
        try chat.alice1.send(.send, [("destination", "/app/chat.sendMessage"), ("transaction", "t1"), ("receipt", "in-tx")], body: chatJSON(to: "bob", content: "tx"))
        #expect(try chat.alice1.frame().command == .receipt)
        #expect(try chat.bob1.frames().isEmpty, "nothing before COMMIT")
        try chat.alice1.send(.commit, [("transaction", "t1"), ("receipt", "c")])
        #expect(try chat.alice1.frame().headers["receipt-id"] == "c")
        #expect(try decodeEvent(chat.bob1.frame()).content == "tx")
        try chat.alice1.send(.begin, [("transaction", "t2")])
        try chat.alice1.send(.send, [("destination", "/app/chat.sendMessage"), ("transaction", "t2")], body: chatJSON(to: "bob"))
        try chat.alice1.send(.abort, [("transaction", "t2")])
        #expect(try chat.bob1.frames().isEmpty)
        try chat.alice1.send(.commit, [("transaction", "t2"), ("receipt", "gone")])
        try chat.alice1.expectError(containing: "unknown transaction 't2'", receiptId: "gone")
    }
}

@Suite struct SlowConsumerTests {
    @Test func sessionThatStopsReadingIsDisconnectedAndCounted() async throws {
        let loop = EmbeddedEventLoop()
        let broker = try await makeBroker(BrokerConfiguration(outboundBufferLimit: 2_000))
        let stall = StalledSocket()
        let slow = try TestSession(broker, loop: loop, extraHandlers: [stall])
        try slow.send(.connect, [("accept-version", "1.2"), ("Authorization", "Bearer token-bob")])
        try slow.send(.subscribe, [("id", "room"), ("destination", "/topic/rooms.1")])
        let fast = try TestSession(broker, loop: loop)
        try fast.connect("carol")
        try fast.subscribe("room", "/topic/rooms.1")
        let content = String(repeating: "x", count: 200)
        for _ in 0..<20 { try fast.sendChat(chatJSON(room: "1", content: content)) }
        #expect(slow.isClosed == false || broker.statistics.slowConsumerDisconnects.value == 1)
        loop.advanceTime(by: .seconds(3))
        #expect(slow.isClosed)
        #expect(broker.statistics.slowConsumerDisconnects.value == 1)
        let written = try stall.decodedFrames()
        #expect(written.last?.command == .error)
        #expect(written.last?.headers["message"]?.contains("slow consumer") == true)
        #expect(written.filter { $0.command == .message }.count < 20)
        #expect(try fast.frames().count == 20, "other sessions keep receiving")
        #expect(!fast.isClosed)
    }

    @Test func tooManyUnackedMessagesCountAsSlowConsumer() async throws {
        let chat = try await Conversation(configuration: BrokerConfiguration(maxUnackedMessagesPerSession: 3), ack: "client-individual")
        for _ in 0..<4 { try chat.alice1.sendChat(chatJSON(to: "bob")) }
        #expect(chat.bob1.isClosed && chat.bob2.isClosed)
        // alice2 got copies too (sender's other session); its unacked copies are redelivered to alice1, the
        // session that sent them, which then exceeds the limit as well.
        #expect(chat.alice2.isClosed && chat.alice1.isClosed)
        #expect(chat.broker.statistics.slowConsumerDisconnects.value == 4)
    }
}

/// A client that retries a SEND after an ERROR or a lost RECEIPT names the attempt with `idempotency-key`: the
/// repeat is acknowledged but delivered once.
@Suite struct IdempotentSendTests {
    @Test func aRetriedSendWithTheSameKeyIsDeliveredOnce() async throws {
        let broker = try await makeBroker()
        let loop = EmbeddedEventLoop()
        let alice = try TestSession(broker, loop: loop)
        let bob = try TestSession(broker, loop: loop)
        try alice.connect("alice")
        try bob.connect("bob")
        try bob.subscribe("dm", "/user/queue/messages")
        for (attempt, key) in [("1", "k-1"), ("2", "k-1"), ("3", "k-2")] {
            try alice.send(
                .send, [("destination", "/app/chat.sendMessage"), ("idempotency-key", key), ("receipt", attempt)],
                body: chatJSON(to: "bob", content: key))
            #expect(try alice.frame().headers["receipt-id"] == attempt, "every attempt is acknowledged")
        }
        let delivered = try bob.frames().map(\.bodyString)
        #expect(delivered.count == 2)
        #expect(delivered[0].contains(#""content":"k-1""#) && delivered[0].contains(#""idempotencyKey":"k-1""#))
        #expect(delivered[1].contains(#""content":"k-2""#))
    }

    @Test func keysAreScopedBySender() async throws {
        let broker = try await makeBroker()
        let loop = EmbeddedEventLoop()
        let alice = try TestSession(broker, loop: loop)
        let carol = try TestSession(broker, loop: loop)
        let bob = try TestSession(broker, loop: loop)
        for (session, name) in [(alice, "alice"), (carol, "carol"), (bob, "bob")] { try session.connect(name) }
        try bob.subscribe("dm", "/user/queue/messages")
        for sender in [alice, carol] {
            try sender.send(.send, [("destination", "/app/chat.sendMessage"), ("idempotency-key", "same")], body: chatJSON(to: "bob"))
        }
        #expect(try bob.frames().count == 2)
    }

    @Test(arguments: ["", String(repeating: "k", count: 129), "line\u{1}break"])
    func invalidKeysAreRefused(key: String) async throws {
        let broker = try await makeBroker()
        let alice = try TestSession(broker, loop: EmbeddedEventLoop())
        try alice.connect("alice")
        try alice.send(.send, [("destination", "/app/chat.sendMessage"), ("idempotency-key", key)], body: chatJSON())
        try alice.expectError(containing: "invalid idempotency-key")
    }
}
