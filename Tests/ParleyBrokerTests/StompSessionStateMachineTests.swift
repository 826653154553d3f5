import NIOCore
import ParleyCodec
import Testing

@testable import ParleyBroker

/// The session protocol as a pure value: frames, ticks and completions in, actions out. No channel, no loop.
@Suite struct StompSessionStateMachineTests {
    static let app = "/app/chat.sendMessage"
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    // MARK: - Helpers

    static func makeMachine(
        _ configuration: BrokerConfiguration = BrokerConfiguration(heartBeat: StompHeartBeat(send: 10_000, receive: 10_000)),
        maxVersion: StompVersion = .v1_2, applications: [String] = [app]
    ) -> StompSessionStateMachine {
        StompSessionStateMachine(
            configuration: .init(broker: configuration, maxVersion: maxVersion, applicationDestinations: applications))
    }

    /// A machine that accepted `alice`'s CONNECT (1.2 unless told otherwise, no heart-beats).
    static func connectedMachine(
        _ configuration: BrokerConfiguration = BrokerConfiguration(), version: String = "1.2"
    ) -> StompSessionStateMachine {
        var machine = makeMachine(configuration)
        _ = machine.sessionStarted()
        let actions = machine.receive(.connect, [("accept-version", version), ("Authorization", "Bearer token-alice")])
        #expect(describe(actions) == ["authenticate token-alice"])
        _ = machine.authenticated(as: StompPrincipal(id: "alice"), sessionId: "s-1", now: t0)
        return machine
    }

    // MARK: - CONNECT and negotiation

    @Test func sessionStartSchedulesTheConnectTimeout() {
        var machine = Self.makeMachine()
        #expect(describe(machine.sessionStarted()) == ["connect timeout 10000 ms"])
    }

    @Test func connectAsksForAuthenticationThenConnects() {
        var machine = Self.makeMachine()
        let asked = machine.receive(.connect, [("accept-version", "1.1,1.2"), ("Authorization", "Bearer abc"), ("receipt", "c1")])
        #expect(describe(asked) == ["authenticate abc"])
        let actions = machine.authenticated(as: StompPrincipal(id: "7", name: "Alice"), sessionId: "s-9", now: Self.t0)
        #expect(describe(actions) == ["write CONNECTED", "receipt c1", "start send:off check:off"])
        let connected = frames(actions)[0]
        #expect(connected.headers["version"] == "1.2")
        #expect(connected.headers["session"] == "s-9")
        #expect(connected.headers["user-name"] == "Alice")
        #expect(connected.headers["server"] == BrokerConfiguration().serverName)
        #expect(machine.isConnected)
        #expect(machine.principal?.id == "7")
    }

    @Test func stompCommandConnectsLikeConnect() {
        var machine = Self.makeMachine()
        #expect(describe(machine.receive(.stomp, [("accept-version", "1.2"), ("passcode", "tok")])) == ["authenticate tok"])
    }

    @Test(arguments: [
        ("Authorization", "Bearer abc", "abc"), ("authorization", "bearer   abc  ", "abc"), ("passcode", "p", "p"),
        ("Authorization", "BEARER x.y.z", "x.y.z"),
    ])
    func tokenComesFromBearerOrPasscode(header: String, value: String, token: String) {
        #expect(StompSessionStateMachine.token(in: StompHeaders([(header, value)])) == token)
    }

    @Test(arguments: [[("Authorization", "Basic abc")], [("Authorization", "Bearer ")], [("passcode", "")], []])
    func noTokenMeansNone(headers: [(String, String)]) {
        #expect(StompSessionStateMachine.token(in: StompHeaders(headers)) == nil)
    }

    @Test func missingTokenFailsAsAuthentication() {
        var machine = Self.makeMachine()
        let actions = machine.receive(.connect, [("accept-version", "1.2"), ("receipt", "r")])
        #expect(describe(actions) == ["end 0 subs 0 unacked", "record authentication", "write ERROR", "close forced"])
        #expect(errorMessage(actions)?.hasPrefix("missing access token") == true)
        #expect(frames(actions)[0].headers["receipt-id"] == "r")
        #expect(!machine.isOpen)
    }

    @Test func refusedTokenFailsWithTheAuthenticatorsReason() {
        var machine = Self.makeMachine()
        _ = machine.receive(.connect, [("accept-version", "1.2"), ("passcode", "expired"), ("receipt", "c")])
        let actions = machine.authenticationFailed(StompAuthenticationError("access token expired"))
        #expect(describe(actions) == ["end 0 subs 0 unacked", "record authentication", "write ERROR", "close forced"])
        #expect(errorMessage(actions) == "access token expired")
        #expect(frames(actions)[0].headers["receipt-id"] == "c")
    }

    @Test func lateVerdictsAreIgnored() {
        var machine = Self.connectedMachine()
        #expect(machine.authenticated(as: StompPrincipal(id: "bob"), sessionId: "x", now: Self.t0).isEmpty)
        #expect(machine.authenticationFailed(.invalidToken).isEmpty)
        #expect(machine.principal?.id == "alice")
    }

    @Test(arguments: [("1.0", "1.0"), ("1.1", "1.1"), ("1.2", "1.2"), ("1.0,1.1", "1.1"), ("1.2, 1.0", "1.2"), ("1.1,9.9", "1.1")])
    func negotiatesTheHighestCommonVersion(offered: String, expected: String) {
        var machine = Self.makeMachine()
        _ = machine.receive(.connect, [("accept-version", offered), ("passcode", "t")])
        let actions = machine.authenticated(as: StompPrincipal(id: "a"), sessionId: "s", now: Self.t0)
        #expect(frames(actions)[0].headers["version"] == expected)
        #expect(machine.version.rawValue == expected)
    }

    @Test func noAcceptVersionMeansStomp10() {
        var machine = Self.makeMachine()
        _ = machine.receive(.connect, [("passcode", "t")])
        _ = machine.authenticated(as: StompPrincipal(id: "a"), sessionId: "s", now: Self.t0)
        #expect(machine.version == .v1_0)
    }

    @Test func transportCapsTheVersion() {
        var machine = Self.makeMachine(maxVersion: .v1_1)
        _ = machine.receive(.connect, [("accept-version", "1.1,1.2"), ("passcode", "t")])
        _ = machine.authenticated(as: StompPrincipal(id: "a"), sessionId: "s", now: Self.t0)
        #expect(machine.version == .v1_1)
    }

    @Test func unsupportedVersionsFailWithTheSupportedList() {
        var machine = Self.makeMachine()
        let actions = machine.receive(.connect, [("accept-version", "2.0"), ("passcode", "t")])
        #expect(errorMessage(actions) == "Supported protocol versions are 1.0,1.1,1.2")
        #expect(frames(actions)[0].headers["version"] == "1.0,1.1,1.2")
        #expect(describe(actions).contains("record protocolViolation"))
    }

    @Test func invalidHeartBeatHeaderFails() {
        var machine = Self.makeMachine()
        let actions = machine.receive(.connect, [("accept-version", "1.2"), ("heart-beat", "fast"), ("passcode", "t")])
        #expect(errorMessage(actions)?.hasPrefix("invalid heart-beat header 'fast'") == true)
    }

    @Test func heartBeatHeaderIsIgnoredInStomp10() {
        var machine = Self.makeMachine()
        let actions = machine.receive(.connect, [("accept-version", "1.0"), ("heart-beat", "fast"), ("passcode", "t")])
        #expect(describe(actions) == ["authenticate t"])
    }

    @Test func heartBeatsAreNegotiated() {
        var machine = Self.makeMachine(BrokerConfiguration(heartBeat: StompHeartBeat(send: 4_000, receive: 6_000)))
        _ = machine.receive(.connect, [("accept-version", "1.2"), ("heart-beat", "5000,10000"), ("passcode", "t")])
        let actions = machine.authenticated(as: StompPrincipal(id: "a"), sessionId: "s", now: Self.t0)
        // We send every max(4000, 10000) and expect the client's every max(6000, 5000).
        #expect(frames(actions)[0].headers["heart-beat"] == "10000,6000")
        #expect(describe(actions).last == "start send:5000ms check:6000ms")
    }

    @Test func firstFrameMustBeConnect() {
        var machine = Self.makeMachine()
        let actions = machine.receive(.send, [("destination", "/topic/a"), ("receipt", "x")])
        #expect(errorMessage(actions) == "expected a CONNECT or STOMP frame first, got SEND")
        #expect(frames(actions)[0].headers["receipt-id"] == "x")
    }

    @Test func secondConnectFails() {
        var machine = Self.connectedMachine()
        #expect(errorMessage(machine.receive(.connect, [("accept-version", "1.2")])) == "already connected")
    }

    @Test(arguments: [StompCommand.message, .receipt, .error, .connected])
    func serverCommandsFromClientsFail(command: StompCommand) {
        var machine = Self.connectedMachine()
        #expect(errorMessage(machine.receive(command, [])) == "a client may not send \(command) frames")
    }

    @Test func framesPipelinedBehindConnectWaitForTheVerdict() {
        var machine = Self.makeMachine()
        var bytes = encode(.connect, [("accept-version", "1.2"), ("passcode", "t")])
        bytes.writeImmutableBuffer(encode(.subscribe, [("id", "1"), ("destination", "/topic/a"), ("receipt", "s")]))
        machine.bytesReceived(bytes, at: Self.t0)
        #expect(describe(machine.nextFrame() ?? []) == ["authenticate t"])
        #expect(machine.nextFrame() == nil, "nothing handled while authenticating")
        _ = machine.authenticated(as: StompPrincipal(id: "a"), sessionId: "s", now: Self.t0)
        #expect(describe(machine.nextFrame() ?? []) == ["subscribe 1 /topic/a auto", "receipt s"])
    }

    @Test func floodWhileAuthenticatingFails() {
        var machine = Self.makeMachine()
        var bytes = encode(.connect, [("accept-version", "1.2"), ("passcode", "t")])
        bytes.writeRepeatingByte(UInt8(ascii: "x"), count: 20_000)
        machine.bytesReceived(bytes, at: Self.t0)
        _ = machine.nextFrame()
        #expect(errorMessage(machine.nextFrame() ?? []) == "too much data sent before CONNECTED")
    }

    @Test func oversizedConnectFailsBeforeAuthentication() {
        var machine = Self.makeMachine()
        let actions = machine.receive(.connect, [("accept-version", "1.2"), ("passcode", String(repeating: "t", count: 20_000))])
        #expect(describe(actions).contains("write ERROR"))
        #expect(!describe(actions).contains { $0.hasPrefix("authenticate") })
    }

    @Test func malformedBytesFail() {
        var machine = Self.makeMachine()
        machine.bytesReceived(ByteBuffer(string: "NOT-A-COMMAND\n\n\0"), at: Self.t0)
        #expect(describe(machine.nextFrame() ?? []).contains("record protocolViolation"))
    }

    @Test func partialFramesWaitForTheRest() {
        var machine = Self.makeMachine()
        let bytes = encode(.connect, [("accept-version", "1.2"), ("passcode", "t")])
        machine.bytesReceived(bytes.getSlice(at: bytes.readerIndex, length: 10)!, at: Self.t0)
        #expect(machine.nextFrame() == nil)
        machine.bytesReceived(bytes.getSlice(at: bytes.readerIndex + 10, length: bytes.readableBytes - 10)!, at: Self.t0)
        #expect(describe(machine.nextFrame() ?? []) == ["authenticate t"])
    }

    @Test func heartBeatEOLsProduceNothing() {
        var machine = Self.connectedMachine()
        machine.bytesReceived(ByteBuffer(string: "\n\r\n"), at: Self.t0)
        #expect(machine.nextFrame() == [])
        #expect(machine.nextFrame() == [])
        #expect(machine.nextFrame() == nil)
    }

    @Test func connectTimeoutFailsOnlyBeforeConnected() {
        var waiting = Self.makeMachine()
        let actions = waiting.connectTimedOut()
        #expect(errorMessage(actions) == "no CONNECT within 10000 ms")
        #expect(describe(actions).contains("record other"), "a timeout is not the client's protocol error")
        var connected = Self.connectedMachine()
        #expect(connected.connectTimedOut().isEmpty)
    }

    @Test func connectTimeoutAlsoCoversASlowAuthenticator() {
        var machine = Self.makeMachine()
        _ = machine.receive(.connect, [("accept-version", "1.2"), ("passcode", "t")])
        #expect(errorMessage(machine.connectTimedOut()) == "no CONNECT within 10000 ms")
        #expect(machine.authenticated(as: StompPrincipal(id: "a"), sessionId: "s", now: Self.t0).isEmpty)
    }

    // MARK: - SEND

    @Test func sendToTopicPublishesAndReceipts() {
        var machine = Self.connectedMachine(Self.topicSends)
        let actions = machine.receive(.send, [("destination", "/topic/a"), ("content-type", "text/plain"), ("receipt", "r")], body: "hi")
        #expect(describe(actions) == ["publish /topic/a", "receipt r"])
    }

    @Test func sendToAnApplicationIsDispatchedAndReceiptedLater() {
        var machine = Self.connectedMachine()
        let actions = machine.receive(.send, [("destination", Self.app), ("receipt", "r")], body: "{}")
        #expect(describe(actions) == ["dispatch \(Self.app) receipt:r"])
        #expect(describe(machine.applicationCompleted(receipt: "r", .success(()))) == ["receipt r"])
    }

    @Test func applicationRejectionFailsTheSession() {
        var machine = Self.connectedMachine()
        _ = machine.receive(.send, [("destination", Self.app), ("receipt", "r")])
        let actions = machine.applicationCompleted(receipt: "r", .failure(ApplicationError("invalid chat message: x", isClientError: true)))
        #expect(describe(actions) == ["end 0 subs 0 unacked", "record protocolViolation", "write ERROR", "close forced"])
        #expect(errorMessage(actions) == "invalid chat message: x")
        #expect(frames(actions)[0].headers["receipt-id"] == "r")
    }

    @Test func applicationTroubleIsNotCountedAsAProtocolError() {
        var machine = Self.connectedMachine()
        let actions = machine.applicationCompleted(receipt: nil, .failure(ApplicationError("relay down", isClientError: false)))
        #expect(describe(actions).contains("record other"))
    }

    @Test func applicationCompletionAfterCloseIsIgnored() {
        var machine = Self.connectedMachine()
        _ = machine.connectionClosed()
        #expect(machine.applicationCompleted(receipt: "r", .success(())).isEmpty)
    }

    @Test(arguments: [
        ([("receipt", "r")], "SEND requires a destination header"),
        ([("destination", "")], "SEND requires a destination header"),
        ([("destination", "/app/chat.other")], "unknown application destination '/app/chat.other': the only one is /app/chat.sendMessage"),
        ([("destination", "/user/queue/messages")], "clients cannot SEND to user queues: send to /app/chat.sendMessage"),
        ([("destination", "/user/bob/queue/messages")], "clients cannot SEND to user queues: send to /app/chat.sendMessage"),
        ([("destination", "/queue/x")], "unsupported destination '/queue/x': allowed prefixes are /app, /topic, /user/queue"),
        ([("destination", "/topic/")], "unsupported destination '/topic/': allowed prefixes are /app, /topic, /user/queue"),
        ([("destination", "/topic/a"), ("content-type", "text/plain:x")], "invalid content-type 'text/plain:x'"),
    ])
    func invalidSendsFail(headers: [(String, String)], message: String) {
        var machine = Self.connectedMachine(Self.topicSends)
        let actions = machine.receive(.send, headers)
        #expect(errorMessage(actions) == message)
        #expect(describe(actions).contains("record protocolViolation"))
    }

    @Test func clientTopicSendsAreRefusedByDefault() {
        var machine = Self.connectedMachine()
        let actions = machine.receive(.send, [("destination", "/topic/news"), ("receipt", "r")], body: "x")
        #expect(errorMessage(actions) == "clients cannot SEND to topics on this server; send to /app/chat.sendMessage")
        #expect(frames(actions)[0].headers["receipt-id"] == "r")
        #expect(!describe(actions).contains("publish /topic/news"))
    }

    @Test(arguments: [BrokerConfiguration(), topicSends])
    func applicationTopicsAreNeverWritableByClients(configuration: BrokerConfiguration) {
        var machine = Self.makeMachine(configuration)
        machine = StompSessionStateMachine(
            configuration: .init(
                broker: configuration, applicationDestinations: [Self.app],
                applicationTopics: [.init(prefix: "/topic/rooms.", sendInstead: Self.app)]))
        _ = machine.receive(.connect, [("accept-version", "1.2"), ("passcode", "t")])
        _ = machine.authenticated(as: StompPrincipal(id: "mallory"), sessionId: "s", now: Self.t0)
        let actions = machine.receive(.send, [("destination", "/topic/rooms.r1")], body: #"{"senderId":"alice"}"#)
        #expect(
            errorMessage(actions)
                == "clients cannot SEND to '/topic/rooms.r1': /topic/rooms.* is published by the server; send to /app/chat.sendMessage")
        #expect(describe(actions).contains("record protocolViolation"))
    }

    @Test func unknownApplicationListsEveryApplication() {
        var machine = Self.makeMachine(applications: ["/app/a", "/app/b"])
        _ = machine.receive(.connect, [("accept-version", "1.2"), ("passcode", "t")])
        _ = machine.authenticated(as: StompPrincipal(id: "a"), sessionId: "s", now: Self.t0)
        #expect(errorMessage(machine.receive(.send, [("destination", "/app/c")])) == "unknown application destination '/app/c': known ones are /app/a, /app/b")
    }

    // MARK: - SUBSCRIBE / UNSUBSCRIBE

    @Test func subscribeToATopicAndToTheUsersQueue() {
        var machine = Self.connectedMachine()
        #expect(describe(machine.receive(.subscribe, [("id", "1"), ("destination", "/topic/rooms.1"), ("receipt", "r")]))
            == ["subscribe 1 /topic/rooms.1 auto", "receipt r"])
        let actions = machine.receive(.subscribe, [("id", "2"), ("destination", "/user/queue/messages"), ("ack", "client")])
        #expect(describe(actions) == ["subscribe 2 /user/queue/messages client owner:alice"])
        #expect(machine.subscriptions.count == 2)
    }

    @Test(arguments: [
        ([("id", "1")], "SUBSCRIBE requires a destination header"),
        ([("destination", "/topic/a")], "SUBSCRIBE requires an id header"),
        ([("id", ""), ("destination", "/topic/a")], "SUBSCRIBE requires an id header"),
        ([("id", "1"), ("destination", "/topic/a"), ("ack", "sometimes")], "invalid ack mode 'sometimes': use auto, client or client-individual"),
        ([("id", "1"), ("destination", "/user/bob/queue/messages")], "cannot subscribe to another user's queue '/user/bob/queue/messages': subscribe to /user/queue/... for your own messages"),
        ([("id", "1"), ("destination", "/app/chat.sendMessage")], "cannot subscribe to '/app/chat.sendMessage': /app destinations accept SEND only"),
        ([("id", "1"), ("destination", "/exchange/x")], "unsupported destination '/exchange/x': allowed prefixes are /app, /topic, /user/queue"),
    ])
    func invalidSubscribesFail(headers: [(String, String)], message: String) {
        var machine = Self.connectedMachine()
        #expect(errorMessage(machine.receive(.subscribe, headers)) == message)
    }

    @Test func duplicateSubscriptionIdFails() {
        var machine = Self.connectedMachine()
        _ = machine.receive(.subscribe, [("id", "1"), ("destination", "/topic/a")])
        let actions = machine.receive(.subscribe, [("id", "1"), ("destination", "/topic/b")])
        #expect(errorMessage(actions) == "subscription id '1' is already in use in this session")
        #expect(describe(actions).first == "end 1 subs 0 unacked", "the first subscription leaves the registry")
    }

    @Test func subscriptionLimitIsEnforced() {
        var machine = Self.connectedMachine(BrokerConfiguration(maxSubscriptionsPerSession: 2))
        _ = machine.receive(.subscribe, [("id", "1"), ("destination", "/topic/a")])
        _ = machine.receive(.subscribe, [("id", "2"), ("destination", "/topic/a")])
        #expect(errorMessage(machine.receive(.subscribe, [("id", "3"), ("destination", "/topic/a")])) == "too many subscriptions (limit 2)")
    }

    @Test func stomp10SubscriptionsDefaultTheirIdToTheDestination() {
        var machine = Self.connectedMachine(version: "1.0")
        #expect(describe(machine.receive(.subscribe, [("destination", "/topic/a")])) == ["subscribe /topic/a /topic/a auto"])
        #expect(describe(machine.receive(.unsubscribe, [("destination", "/topic/a")])) == ["unsubscribe /topic/a 0 unacked"])
    }

    @Test func unsubscribeReturnsItsUnacknowledgedMessages() {
        var machine = Self.connectedMachine()
        _ = machine.receive(.subscribe, [("id", "1"), ("destination", "/user/queue/messages"), ("ack", "client-individual")])
        _ = machine.receive(.subscribe, [("id", "2"), ("destination", "/user/queue/other"), ("ack", "client")])
        _ = machine.deliver(on: "1")
        _ = machine.deliver(on: "2")
        _ = machine.deliver(on: "1")
        #expect(describe(machine.receive(.unsubscribe, [("id", "1"), ("receipt", "u")])) == ["unsubscribe 1 2 unacked", "receipt u"])
        #expect(machine.unacknowledged.count == 1)
    }

    @Test(arguments: [([(String, String)](), "UNSUBSCRIBE requires an id header"), ([("id", "9")], "no subscription with id '9' in this session")])
    func invalidUnsubscribesFail(headers: [(String, String)], message: String) {
        var machine = Self.connectedMachine()
        #expect(errorMessage(machine.receive(.unsubscribe, headers)) == message)
    }

    // MARK: - Delivery and acknowledgement

    @Test func autoDeliveriesAreNumberedAndNotKept() {
        var machine = Self.connectedMachine()
        _ = machine.receive(.subscribe, [("id", "1"), ("destination", "/topic/a")])
        #expect(machine.deliver(on: "1").summary == "write 1")
        #expect(machine.deliver(on: "1").summary == "write 2")
        #expect(machine.unacknowledged.isEmpty)
    }

    @Test func clientDeliveriesCarryAnAckHeaderIn12Only() {
        var v12 = Self.connectedMachine()
        _ = v12.receive(.subscribe, [("id", "1"), ("destination", "/topic/a"), ("ack", "client")])
        #expect(v12.deliver(on: "1").summary == "write 1 ack")
        var v11 = Self.connectedMachine(version: "1.1")
        _ = v11.receive(.subscribe, [("id", "1"), ("destination", "/topic/a"), ("ack", "client")])
        #expect(v11.deliver(on: "1").summary == "write 1")
        #expect(v11.unacknowledged.keys.sorted() == ["1"])
    }

    @Test func inactiveSubscriptionsHandBackUserMessagesAndDropTopicMessages() {
        var machine = Self.connectedMachine()
        let queue = SessionSubscription(id: "q", destination: "/user/queue/messages", userQueueOwner: "alice", ackMode: .auto)
        let topic = SessionSubscription(id: "t", destination: "/topic/a", userQueueOwner: nil, ackMode: .auto)
        #expect(machine.messageArrived(Self.message, on: queue, isActive: false).summary == "hand back")
        #expect(machine.messageArrived(Self.message, on: topic, isActive: false).summary == "drop")
    }

    @Test func deliveriesAfterCloseAreHandedBack() {
        var machine = Self.connectedMachine()
        _ = machine.receive(.subscribe, [("id", "1"), ("destination", "/user/queue/messages")])
        let subscription = machine.subscriptions["1"]!
        _ = machine.connectionClosed()
        #expect(machine.messageArrived(Self.message, on: subscription, isActive: true).summary == "hand back")
    }

    @Test func ackSettlesOneMessageInClientIndividualMode() {
        var machine = Self.connectedMachine()
        _ = machine.receive(.subscribe, [("id", "1"), ("destination", "/topic/a"), ("ack", "client-individual")])
        for _ in 0..<3 { _ = machine.deliver(on: "1") }
        #expect(describe(machine.receive(.ack, [("id", "2"), ("receipt", "a")])) == ["receipt a"])
        #expect(machine.unacknowledged.keys.sorted() == ["1", "3"])
    }

    @Test func ackIsCumulativeInClientMode() {
        var machine = Self.connectedMachine()
        _ = machine.receive(.subscribe, [("id", "1"), ("destination", "/topic/a"), ("ack", "client")])
        _ = machine.receive(.subscribe, [("id", "2"), ("destination", "/topic/b"), ("ack", "client")])
        _ = machine.deliver(on: "1")  // 1
        _ = machine.deliver(on: "2")  // 2
        _ = machine.deliver(on: "1")  // 3
        _ = machine.deliver(on: "1")  // 4
        _ = machine.receive(.ack, [("id", "3")])
        #expect(machine.unacknowledged.keys.sorted() == ["2", "4"], "only subscription 1's messages up to 3")
    }

    @Test func nackRedeliversInOrder() {
        var machine = Self.connectedMachine()
        _ = machine.receive(.subscribe, [("id", "1"), ("destination", "/user/queue/messages"), ("ack", "client")])
        for _ in 0..<3 { _ = machine.deliver(on: "1") }
        let actions = machine.receive(.nack, [("id", "2")])
        #expect(describe(actions) == ["redeliver 1,2"])
    }

    @Test func stomp11AcksUseMessageIdAndMustNameTheSubscription() {
        var machine = Self.connectedMachine(version: "1.1")
        _ = machine.receive(.subscribe, [("id", "s"), ("destination", "/topic/a"), ("ack", "client")])
        _ = machine.deliver(on: "s")
        #expect(errorMessage(machine.receive(.ack, [("message-id", "1")])) == "ACK for message '1' must name its subscription 's'")
        var good = Self.connectedMachine(version: "1.1")
        _ = good.receive(.subscribe, [("id", "s"), ("destination", "/topic/a"), ("ack", "client")])
        _ = good.deliver(on: "s")
        #expect(describe(good.receive(.ack, [("message-id", "1"), ("subscription", "s"), ("receipt", "k")])) == ["receipt k"])
    }

    @Test(arguments: [
        (StompCommand.ack, [(String, String)](), "ACK requires an id header"),
        (.nack, [], "NACK requires an id header"),
        (.ack, [("id", "77")], "no unacknowledged message with id '77'"),
    ])
    func invalidAcknowledgementsFail(command: StompCommand, headers: [(String, String)], message: String) {
        var machine = Self.connectedMachine()
        #expect(errorMessage(machine.receive(command, headers)) == message)
    }

    @Test func stomp11AckWithoutMessageIdNamesThatHeader() {
        var machine = Self.connectedMachine(version: "1.1")
        #expect(errorMessage(machine.receive(.ack, [("id", "1")])) == "ACK requires a message-id header")
    }

    @Test func tooManyUnacknowledgedMessagesMakeASlowConsumer() {
        var machine = Self.connectedMachine(BrokerConfiguration(maxUnackedMessagesPerSession: 2))
        _ = machine.receive(.subscribe, [("id", "1"), ("destination", "/user/queue/messages"), ("ack", "client")])
        #expect(machine.deliver(on: "1").summary == "write 1 ack")
        #expect(machine.deliver(on: "1").summary == "write 2 ack")
        let third = machine.deliver(on: "1")
        #expect(third.summary == "write 3 ack then 4")
        guard case .write(_, _, let then) = third else { return }
        #expect(describe(then) == ["end 1 subs 3 unacked", "record slowConsumer", "write ERROR", "close forced"])
        #expect(errorMessage(then) == "slow consumer: more than 2 unacknowledged messages")
    }

    @Test func outboundBufferOverTheLimitMakesASlowConsumer() {
        var machine = Self.connectedMachine(BrokerConfiguration(outboundBufferLimit: 1_000))
        #expect(machine.wrote(pendingBytes: 1_000) == nil)
        let actions = machine.wrote(pendingBytes: 1_001) ?? []
        #expect(errorMessage(actions) == "slow consumer: more than 1000 bytes waiting to be sent")
        #expect(describe(actions).contains("record slowConsumer"))
        #expect(machine.wrote(pendingBytes: 5_000) == nil, "once closing, writes are not judged again")
    }

    @Test func outboundBufferIsNotJudgedBeforeConnected() {
        var machine = Self.makeMachine(BrokerConfiguration(outboundBufferLimit: 10))
        #expect(machine.wrote(pendingBytes: 100) == nil)
    }

    // MARK: - Transactions

    @Test func committedFramesReplayInOrderThenTheCommitReceipt() {
        var machine = Self.connectedMachine(Self.topicSends)
        _ = machine.receive(.begin, [("transaction", "t")])
        #expect(describe(machine.receive(.send, [("destination", "/topic/a"), ("transaction", "t"), ("receipt", "s1")])) == ["receipt s1"])
        _ = machine.receive(.send, [("destination", Self.app), ("transaction", "t")])
        let actions = machine.receive(.commit, [("transaction", "t"), ("receipt", "c")])
        #expect(describe(actions) == ["publish /topic/a", "dispatch \(Self.app) receipt:-", "receipt c"])
    }

    @Test func aFailingCommittedFrameStopsTheRest() {
        var machine = Self.connectedMachine()
        _ = machine.receive(.begin, [("transaction", "t")])
        _ = machine.receive(.send, [("destination", "/queue/nope"), ("transaction", "t")])
        _ = machine.receive(.send, [("destination", "/topic/a"), ("transaction", "t")])
        let actions = machine.receive(.commit, [("transaction", "t"), ("receipt", "c")])
        #expect(errorMessage(actions)?.hasPrefix("unsupported destination '/queue/nope'") == true)
        #expect(!describe(actions).contains("publish /topic/a"))
        #expect(!describe(actions).contains("receipt c"))
    }

    @Test func anApplicationRefusalDuringReplayStopsTheRest() {
        var machine = Self.connectedMachine()
        _ = machine.receive(.begin, [("transaction", "t")])
        _ = machine.receive(.send, [("destination", Self.app), ("transaction", "t")])
        _ = machine.receive(.send, [("destination", "/topic/a"), ("transaction", "t")])
        machine.bytesReceived(encode(.commit, [("transaction", "t")]), at: Self.t0)
        #expect(machine.nextFrame() == [])
        #expect(describe(machine.nextFrame() ?? []) == ["dispatch \(Self.app) receipt:-"])
        _ = machine.applicationCompleted(receipt: nil, .failure(ApplicationError("bad", isClientError: true)))
        #expect(machine.nextFrame() == nil, "the held topic SEND is never published")
    }

    @Test func abortDropsTheHeldFrames() {
        var machine = Self.connectedMachine()
        _ = machine.receive(.begin, [("transaction", "t")])
        _ = machine.receive(.send, [("destination", "/topic/a"), ("transaction", "t")])
        #expect(describe(machine.receive(.abort, [("transaction", "t"), ("receipt", "a")])) == ["receipt a"])
        #expect(errorMessage(machine.receive(.commit, [("transaction", "t")])) == "unknown transaction 't'")
    }

    @Test func acksInATransactionSettleOnCommit() {
        var machine = Self.connectedMachine()
        _ = machine.receive(.subscribe, [("id", "1"), ("destination", "/topic/a"), ("ack", "client-individual")])
        _ = machine.deliver(on: "1")
        _ = machine.receive(.begin, [("transaction", "t")])
        _ = machine.receive(.ack, [("id", "1"), ("transaction", "t")])
        #expect(machine.unacknowledged.count == 1)
        _ = machine.receive(.commit, [("transaction", "t")])
        #expect(machine.unacknowledged.isEmpty)
    }

    @Test(arguments: [
        (StompCommand.begin, [(String, String)](), "BEGIN requires a transaction header"),
        (.commit, [("transaction", "")], "COMMIT requires a transaction header"),
        (.abort, [("transaction", "x")], "unknown transaction 'x'"),
        (.send, [("destination", "/topic/a"), ("transaction", "x")], "unknown transaction 'x'"),
        (.ack, [("id", "1"), ("transaction", "x")], "unknown transaction 'x'"),
    ])
    func invalidTransactionFramesFail(command: StompCommand, headers: [(String, String)], message: String) {
        var machine = Self.connectedMachine()
        #expect(errorMessage(machine.receive(command, headers)) == message)
    }

    @Test func beginTwiceFails() {
        var machine = Self.connectedMachine()
        _ = machine.receive(.begin, [("transaction", "t")])
        #expect(errorMessage(machine.receive(.begin, [("transaction", "t")])) == "transaction 't' has already begun")
    }

    @Test func transactionFrameLimitIsEnforced() {
        var machine = Self.connectedMachine(BrokerConfiguration(maxFramesPerTransaction: 1))
        _ = machine.receive(.begin, [("transaction", "t")])
        _ = machine.receive(.send, [("destination", "/topic/a"), ("transaction", "t")])
        #expect(errorMessage(machine.receive(.send, [("destination", "/topic/a"), ("transaction", "t")])) == "too many frames in transaction 't' (limit 1)")
    }

    // MARK: - Heart-beats

    @Test func heartBeatIsSentOnlyAfterASilentInterval() {
        var machine = Self.connectedMachine()
        #expect(describe(machine.heartBeatSendDue()) == ["heart-beat"])
        _ = machine.wrote(pendingBytes: 1)
        #expect(machine.heartBeatSendDue().isEmpty, "a write counts as traffic")
        #expect(describe(machine.heartBeatSendDue()) == ["heart-beat"])
    }

    @Test func silentClientIsDisconnectedAfterTheTolerance() {
        var machine = Self.makeMachine(BrokerConfiguration(heartBeat: StompHeartBeat(send: 0, receive: 1_000), heartBeatTolerance: 2))
        _ = machine.receive(.connect, [("accept-version", "1.2"), ("heart-beat", "1000,0"), ("passcode", "t")])
        _ = machine.authenticated(as: StompPrincipal(id: "a"), sessionId: "s", now: Self.t0)
        #expect(machine.heartBeatCheckDue(now: Self.t0 + .milliseconds(2_000)).isEmpty)
        machine.bytesReceived(ByteBuffer(string: "\n"), at: Self.t0 + .milliseconds(1_500))
        #expect(machine.heartBeatCheckDue(now: Self.t0 + .milliseconds(3_400)).isEmpty, "the EOL reset the clock")
        let actions = machine.heartBeatCheckDue(now: Self.t0 + .milliseconds(3_600))
        #expect(errorMessage(actions) == "heart-beat timeout: nothing received for 2100 ms (negotiated 1000 ms)")
        #expect(describe(actions).contains("record other"))
    }

    @Test func ticksAfterCloseDoNothing() {
        var machine = Self.connectedMachine()
        _ = machine.connectionClosed()
        #expect(machine.heartBeatSendDue().isEmpty)
        #expect(machine.heartBeatCheckDue(now: Self.t0 + .seconds(100)).isEmpty)
    }

    // MARK: - Closing

    @Test func disconnectWithReceiptClosesAfterTheReceipt() {
        var machine = Self.connectedMachine()
        _ = machine.receive(.subscribe, [("id", "1"), ("destination", "/topic/a")])
        #expect(describe(machine.receive(.disconnect, [("receipt", "bye")])) == ["end 1 subs 0 unacked", "receipt bye", "close forced"])
        #expect(!machine.isOpen)
    }

    @Test func disconnectWithoutReceiptJustCloses() {
        var machine = Self.connectedMachine()
        #expect(describe(machine.receive(.disconnect, [])) == ["end 0 subs 0 unacked", "close"])
    }

    @Test func framesAfterDisconnectAreIgnored() {
        var machine = Self.connectedMachine()
        var bytes = encode(.disconnect, [])
        bytes.writeImmutableBuffer(encode(.send, [("destination", "/topic/a")]))
        machine.bytesReceived(bytes, at: Self.t0)
        _ = machine.nextFrame()
        #expect(machine.nextFrame() == nil)
        machine.bytesReceived(encode(.send, [("destination", "/topic/a")]), at: Self.t0)
        #expect(machine.nextFrame() == nil)
    }

    @Test func closingHandsBackUnacknowledgedMessagesInOrder() {
        var machine = Self.connectedMachine()
        _ = machine.receive(.subscribe, [("id", "1"), ("destination", "/user/queue/messages"), ("ack", "client-individual")])
        for _ in 0..<3 { _ = machine.deliver(on: "1") }
        let actions = machine.connectionClosed()
        guard case .endSession(let ids, let pending)? = actions.first else {
            Issue.record("expected endSession, got \(describe(actions))")
            return
        }
        #expect(ids == ["1"])
        #expect(pending.map(\.sequence) == [1, 2, 3])
        #expect(machine.connectionClosed().isEmpty, "closing twice does nothing")
    }

    @Test func failingTwiceWritesOneError() {
        var machine = Self.connectedMachine()
        #expect(errorMessage(machine.transportViolation("frame too large")) == "frame too large")
        #expect(machine.shutDown(reason: "server is shutting down").isEmpty)
    }

    @Test func shutdownSendsTheReasonUncounted() {
        var machine = Self.connectedMachine()
        let actions = machine.shutDown(reason: "server is shutting down")
        #expect(errorMessage(actions) == "server is shutting down")
        #expect(describe(actions).contains("record other"))
    }

    @Test func errorMessagesAreOneLine() {
        var machine = Self.connectedMachine()
        let actions = machine.applicationCompleted(receipt: nil, .failure(ApplicationError("two\nlines", isClientError: true)))
        #expect(frames(actions)[0].headers["message"] == "two lines")
        #expect(frames(actions)[0].bodyString == "two\nlines")
    }

    static let topicSends = BrokerConfiguration(allowClientTopicSends: true)
    static let message = BrokerMessage(body: ByteBuffer(string: "{}"), contentType: "application/json")
}

// MARK: - Test vocabulary

extension StompSessionStateMachine {
    /// Feeds one encoded frame and returns what handling it produced.
    mutating func receive(_ command: StompCommand, _ headers: [(String, String)], body: String = "") -> [SessionAction] {
        bytesReceived(encode(command, headers, body: body), at: StompSessionStateMachineTests.t0)
        var actions: [SessionAction] = []
        while let next = nextFrame() { actions += next }
        return actions
    }

    /// A message arriving on subscription `id`, which must exist.
    mutating func deliver(on id: String) -> DeliveryDecision {
        messageArrived(StompSessionStateMachineTests.message, on: subscriptions[id]!, isActive: true)
    }
}

func encode(_ command: StompCommand, _ headers: [(String, String)], body: String = "") -> ByteBuffer {
    StompEncoder.encode(StompFrame(command, headers: StompHeaders(headers), body: body), version: .v1_2)
}

func frames(_ actions: [SessionAction]) -> [StompFrame] {
    actions.compactMap { if case .write(let frame) = $0 { frame } else { nil } }
}

func errorMessage(_ actions: [SessionAction]) -> String? {
    frames(actions).first { $0.command == .error }?.headers["message"]
}

/// One line per action, short enough to compare whole lists.
func describe(_ actions: [SessionAction]) -> [String] {
    actions.map { action in
        switch action {
        case .scheduleConnectTimeout(let timeout): "connect timeout \(timeout.nanoseconds / 1_000_000) ms"
        case .authenticate(let token): "authenticate \(token)"
        case .startSession(let send, let check):
            "start send:\(send.map { "\($0.nanoseconds / 1_000_000)ms" } ?? "off") check:\(check.map { "\($0.nanoseconds / 1_000_000)ms" } ?? "off")"
        case .write(let frame): "write \(frame.command)"
        case .writeReceipt(let id): "receipt \(id)"
        case .writeHeartBeat: "heart-beat"
        case .subscribe(let s):
            "subscribe \(s.id) \(s.destination) \(s.ackMode)" + (s.userQueueOwner.map { " owner:\($0)" } ?? "")
        case .unsubscribe(let id, let pending): "unsubscribe \(id) \(pending.count) unacked"
        case .publish(let destination, _): "publish \(destination)"
        case .dispatch(let frame, let receipt): "dispatch \(frame.headers["destination"] ?? "?") receipt:\(receipt ?? "-")"
        case .redeliver(let messages): "redeliver \(messages.map { String($0.sequence) }.joined(separator: ","))"
        case .endSession(let ids, let pending): "end \(ids.count) subs \(pending.count) unacked"
        case .record(let failure): "record \(failure)"
        case .closeAfterFlush(let forced): forced ? "close forced" : "close"
        }
    }
}

extension DeliveryDecision {
    var summary: String {
        switch self {
        case .write(let id, let ack, let then): "write \(id)\(ack ? " ack" : "")\(then.isEmpty ? "" : " then \(then.count)")"
        case .handBack: "hand back"
        case .drop: "drop"
        }
    }
}

extension Optional where Wrapped == [SessionAction] {
    static func == (lhs: [SessionAction]?, rhs: [SessionAction]?) -> Bool {
        switch (lhs, rhs) {
        case (nil, nil): true
        case (let l?, let r?): describe(l) == describe(r)
        default: false
        }
    }
}
