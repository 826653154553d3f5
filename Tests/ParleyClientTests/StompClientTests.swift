import NIOCore
import ParleyClient
import ParleyCodec
import Synchronization
import Testing

/// The session layer against the in-test echo server.
struct StompClientTests {
    private static func connect(_ server: EchoStompServer, _ options: StompClient.Options = .init()) async throws -> StompClient {
        try await StompClient.connect(to: try StompEndpoint(url: server.url), options: options)
    }

    @Test(arguments: [false, true])
    func connectSubscribeSendReceiveDisconnect(webSocket: Bool) async throws {
        let server = try await EchoStompServer.start(webSocket: webSocket)
        defer { Task { await server.stop() } }
        try await withTimeout(10, "session") {
            let client = try await Self.connect(server, .init(host: "/", login: "u", passcode: "p", bearerToken: "tok"))
            let connect = try #require(server.receivedFrames.first)
            #expect(connect.command == .connect)
            #expect(connect.headers["accept-version"] == "1.0,1.1,1.2")
            #expect(connect.headers["host"] == "/")
            #expect(connect.headers["login"] == "u")
            #expect(connect.headers["passcode"] == "p")
            #expect(connect.headers["Authorization"] == "Bearer tok")
            #expect(client.sessionID == "echo-1")
            let one = try await client.subscribe(destination: "/one")
            let two = try await client.subscribe(destination: "/two", receipt: true)
            try await client.send(destination: "/two", body: "to two", receipt: true)
            try await client.send(destination: "/one", body: "to one", headers: ["k": "v"])
            var twoIterator = two.makeAsyncIterator()
            var oneIterator = one.makeAsyncIterator()
            #expect(try await twoIterator.next()?.bodyString == "to two")
            let message = try #require(try await oneIterator.next())
            #expect(message.bodyString == "to one")
            #expect(message.headers["k"] == "v")
            #expect(message.headers["subscription"] == one.id)
            try await client.disconnect()
            #expect(client.endReason == .disconnected)
            // Clean end: the sequences finish without error.
            #expect(try await oneIterator.next() == nil)
            #expect(server.receivedFrames.last?.command == .disconnect)
        }
    }

    @Test(arguments: [false, true])
    func onMessageHandlerGetsEveryMessageInOrderAndTheSubscriptionEndsCleanly(webSocket: Bool) async throws {
        let server = try await EchoStompServer.start(webSocket: webSocket)
        defer { Task { await server.stop() } }
        try await withTimeout(10, "handler subscription") {
            let client = try await Self.connect(server)
            let received = ReceivedBodies()
            let subscription = try await client.subscribe(destination: "/h", receipt: true) { frame in
                received.bodies.withLock { $0.append(frame.bodyString) }
            }
            for index in 0..<50 { try await client.send(destination: "/h", body: "m\(index)") }
            // A RECEIPT is answered after the earlier SENDs were echoed, so all 50 were handed over by then.
            try await client.send(destination: "/other", body: "", receipt: true)
            #expect(received.bodies.withLock { $0 } == (0..<50).map { "m\($0)" })
            try await client.disconnect()
            var iterator = subscription.makeAsyncIterator()
            #expect(try await iterator.next() == nil)
        }
    }

    @Test func connectRejectionCarriesTheErrorFrame() async throws {
        let server = try await EchoStompServer.start()
        defer { Task { await server.stop() } }
        try await withTimeout(10, "rejection") {
            do {
                _ = try await Self.connect(server, .init(passcode: "bad"))
                Issue.record("connect succeeded")
            } catch let error as StompClientError {
                #expect(error.errorFrame?.headers["message"] == "bad credentials")
                #expect(error.errorFrame?.bodyString == "login failed")
            }
        }
    }

    @Test func serverErrorEndsSubscriptionsWithTheError() async throws {
        let server = try await EchoStompServer.start()
        defer { Task { await server.stop() } }
        try await withTimeout(10, "server error") {
            let client = try await Self.connect(server)
            let subscription = try await client.subscribe(destination: "/x", receipt: true)
            try await client.send(destination: "/error", body: "")
            do {
                for try await _ in subscription {}
                Issue.record("subscription ended without error")
            } catch let error as StompClientError {
                #expect(error.errorFrame?.headers["message"] == "you asked for it")
            }
            guard case .serverError = client.endReason else {
                Issue.record("endReason \(String(describing: client.endReason))")
                return
            }
            await #expect(throws: StompClientError.self) { try await client.send(destination: "/x", body: "late") }
        }
    }

    @Test func missingReceiptTimesOut() async throws {
        let server = try await EchoStompServer.start()
        defer { Task { await server.stop() } }
        try await withTimeout(10, "receipt timeout") {
            let client = try await Self.connect(server, .init(receiptTimeout: .milliseconds(200)))
            await #expect(throws: StompClientError.receiptTimedOut("rcpt-1")) {
                try await client.send(destination: "/no-receipt", body: "x", receipt: true)
            }
            // The session is still usable: DISCONNECT's receipt (own 5 s bound) arrives.
            try await client.send(destination: "/other", body: "y")
            try await client.disconnect()
            #expect(server.receivedFrames.map(\.command) == [.connect, .send, .send, .disconnect])
        }
    }

    @Test(arguments: ["1.2", "1.1", "1.0"])
    func ackHeadersFollowTheNegotiatedVersion(version: String) async throws {
        let server = try await EchoStompServer.start(behaviour: .init(version: version))
        defer { Task { await server.stop() } }
        try await withTimeout(10, "ack") {
            let client = try await Self.connect(server)
            #expect(client.version.rawValue == version)
            let subscription = try await client.subscribe(destination: "/q", ack: .clientIndividual)
            try await client.send(destination: "/q", body: "m")
            var iterator = subscription.makeAsyncIterator()
            let message = try #require(try await iterator.next())
            try await client.ack(message, receipt: true)
            let ack = try #require(server.receivedFrames.last { $0.command == .ack })
            switch version {
            case "1.2":
                #expect(ack.headers["id"] == message.headers["ack"])
                #expect(ack.headers["message-id"] == nil)
            case "1.1":
                #expect(ack.headers["message-id"] == message.headers["message-id"])
                #expect(ack.headers["subscription"] == subscription.id)
            default:
                #expect(ack.headers["message-id"] == message.headers["message-id"])
                #expect(ack.headers["subscription"] == nil)
            }
            try await client.disconnect()
        }
    }

    @Test func silentServerIsDetectedByHeartBeatMonitoring() async throws {
        // The server promises a heart-beat every 100 ms but never sends one.
        let server = try await EchoStompServer.start(behaviour: .init(heartBeat: "100,0"))
        defer { Task { await server.stop() } }
        try await withTimeout(10, "heart-beat timeout") {
            let client = try await Self.connect(server, .init(heartBeat: StompHeartBeat(send: 0, receive: 100)))
            let reason = await client.waitUntilEnded()
            #expect(reason == .heartBeatTimeout(milliseconds: 200))
        }
    }

    /// `onMessage` deliveries are handled on the event loop, outside the reader task: they arrive in order and
    /// still count as traffic for heart-beat monitoring (the server here never sends a heart-beat).
    @Test(arguments: [false, true])
    func onMessageTrafficKeepsTheSessionAliveAndInOrder(webSocket: Bool) async throws {
        // The server promises a heart-beat every second and never sends one: two seconds without any frame end the
        // session, so only the MESSAGEs (one every 50 ms for 3 s) can keep it alive. The tolerance is wide because a
        // parallel test run can starve this task for a second between CONNECTED and the first MESSAGE.
        let server = try await EchoStompServer.start(webSocket: webSocket, behaviour: .init(heartBeat: "1000,0"))
        defer { Task { await server.stop() } }
        try await withTimeout(30, "inline deliveries") {
            let client = try await Self.connect(server, .init(heartBeat: StompHeartBeat(send: 0, receive: 1000)))
            let bodies = Mutex<[String]>([])
            _ = try await client.subscribe(destination: "/drip", receipt: true) { frame in
                bodies.withLock { $0.append(frame.bodyString) }
            }
            try await client.send(destination: "/drip/60", body: "")
            while bodies.withLock({ $0.count }) < 60, client.endReason == nil { try await Task.sleep(for: .milliseconds(10)) }
            #expect(client.endReason == nil)
            let received: [String] = bodies.withLock { $0 }
            #expect(received == (0..<60).map { String($0) })
            #expect(client.unroutedMessageCount == 0)
            try await client.disconnect()
        }
    }

    @Test func clientSendsHeartBeatsAtTheNegotiatedRate() async throws {
        let server = try await EchoStompServer.start(behaviour: .init(heartBeat: "0,50"))
        defer { Task { await server.stop() } }
        try await withTimeout(10, "heart-beats out") {
            let client = try await Self.connect(server, .init(heartBeat: StompHeartBeat(send: 50, receive: 0)))
            while server.heartBeatCount < 3 { try await Task.sleep(for: .milliseconds(20)) }
            try await client.disconnect()
        }
    }

    @Test func slowSubscriberGetsEveryMessageThroughASmallBuffer() async throws {
        let server = try await EchoStompServer.start()
        defer { Task { await server.stop() } }
        try await withTimeout(20, "backpressure") {
            var options = StompClient.Options(subscriptionBufferSize: 4)
            options.connection.inboundBufferHighWatermark = 8
            options.connection.inboundBufferLowWatermark = 2
            let client = try await Self.connect(server, options)
            let subscription = try await client.subscribe(destination: "/burst", receipt: true)
            try await client.send(destination: "/burst/5000", body: "")
            var expected = 0
            for try await message in subscription {
                #expect(message.bodyString == "\(expected)")
                expected += 1
                if expected % 1000 == 0 { try await Task.sleep(for: .milliseconds(5)) }
                if expected == 5000 { break }
            }
            #expect(expected == 5000)
            #expect(client.unroutedMessageCount == 0)
            try await client.disconnect()
        }
    }

    /// Sends are batched per event-loop tick and, past the outbound high watermark, wait for the socket: either
    /// way they reach the server whole and in order, over both transports.
    @Test(arguments: [false, true])
    func manyQuickSendsArriveInOrder(webSocket: Bool) async throws {
        let server = try await EchoStompServer.start(webSocket: webSocket)
        defer { Task { await server.stop() } }
        try await withTimeout(30, "ordered sends") {
            let client = try await Self.connect(server)
            let padding = String(repeating: "p", count: 200)  // ~1 MB in all: well past the 64 KiB high watermark
            for index in 0..<5_000 {
                try await client.send(destination: "/sink", body: "\(index) \(padding)")
            }
            try await client.send(destination: "/sink", body: "last", receipt: true)
            let bodies = server.receivedFrames.filter { $0.command == .send }.map { $0.bodyString.prefix { $0 != " " } }
            #expect(bodies == (0..<5_000).map { Substring("\($0)") } + ["last"])
            try await client.disconnect()
        }
    }

    @Test func cancellingAWaitingConsumerDoesNotHang() async throws {
        let server = try await EchoStompServer.start()
        defer { Task { await server.stop() } }
        let client = try await Self.connect(server)
        let subscription = try await client.subscribe(destination: "/quiet")
        let waiter = Task {
            var iterator = subscription.makeAsyncIterator()
            return try await iterator.next()
        }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await withTimeout(5, "cancel") { try await waiter.value } }
        try await client.disconnect()
    }
}

/// Bodies collected by an `onMessage` handler.
private final class ReceivedBodies: Sendable {
    let bodies = Mutex<[String]>([])
}
