import Foundation
import NIOCore
import ParleyAuth
import ParleyBroker
import ParleyClient
import ParleyCodec
import ParleyServer
import ParleyTesting
import Testing

@Suite(.timeLimit(.minutes(1))) struct EndToEndTests {
    @Test func twoUsersWithSessionsOnBothTransportsChat() async throws {
        try await withParleyServer { server in
            try await withTimeout(20) {
                let aliceTCP = try await server.connect("alice", over: .tcp)
                let aliceWS = try await server.connect("alice", over: .webSocket)
                let bobTCP = try await server.connect("bob", over: .tcp)
                let bobWS = try await server.connect("bob", over: .webSocket)
                #expect(aliceTCP.connectedFrame.headers["user-name"] == "alice")
                #expect(aliceWS.connectedFrame.headers["server"]?.hasPrefix("Parley/") == true)
                #expect(aliceWS.version == .v1_2)
                var queues: [String: StompSubscription] = [:]
                for (name, client) in [("aliceTCP", aliceTCP), ("aliceWS", aliceWS), ("bobTCP", bobTCP), ("bobWS", bobWS)] {
                    queues[name] = try await client.subscribe(destination: "/user/queue/messages", receipt: true)
                }
                // DM over TCP: both of bob's sessions and alice's other session receive it.
                try await aliceTCP.sendChat(chatJSON(room: "r1", to: "bob", content: "over tcp"))
                for name in ["bobTCP", "bobWS", "aliceWS"] {
                    let message = try await queues[name]!.next()
                    #expect(message.headers["destination"] == "/user/queue/messages")
                    #expect(message.headers["content-type"] == "application/json")
                    let event = try decodeEvent(message)
                    #expect(event.senderId == "alice" && event.receiverId == "bob" && event.content == "over tcp", "\(name)")
                }
                // Reply over WebSocket.
                try await bobWS.sendChat(chatJSON(room: "r1", to: "alice", content: "over ws"))
                for name in ["aliceTCP", "aliceWS", "bobTCP"] {
                    #expect(try decodeEvent(await queues[name]!.next()).content == "over ws", "\(name)")
                }
                // Room broadcast across transports.
                let roomA = try await aliceTCP.subscribe(destination: "/topic/rooms.lobby", receipt: true)
                let roomB = try await bobWS.subscribe(destination: "/topic/rooms.lobby", receipt: true)
                try await bobTCP.sendChat(chatJSON(room: "lobby", content: "hello room"))
                for room in [roomA, roomB] {
                    let message = try await room.next()
                    #expect(message.headers["destination"] == "/topic/rooms.lobby")
                    #expect(try decodeEvent(message).senderId == "bob")
                }
                for client in [aliceTCP, aliceWS, bobTCP, bobWS] { try await client.disconnect() }
            }
        }
    }

    @Test(arguments: ParleyTestServer.Transport.allCases)
    func realTokensAreCheckedAtConnect(transport: ParleyTestServer.Transport) async throws {
        try await withParleyServer { server in
            let otherSecret = try JWTSecret(bytes: Array(repeating: 7, count: 32))
            let forger = await JWTService(secret: otherSecret)
            let expired = try await server.jwt.issue(.access, subject: "alice", now: Date().addingTimeInterval(-7200)).token
            let refresh = try await server.jwt.issue(.refresh, subject: "alice").token
            let forged = try await forger.issue(.access, subject: "alice").token
            let cases: [(String?, String)] = [
                (nil, "missing access token"), (expired, "expired"), (refresh, "access token required"), (forged, "signature"),
                ("not.a.jwt", "base64url"),
            ]
            for (token, expected) in cases {
                let options = StompClient.Options(host: "/", bearerToken: token)
                do {
                    _ = try await StompClient.connect(to: server.endpoint(transport), options: options)
                    Issue.record("token \(token ?? "nil") was accepted")
                } catch let error as StompClientError {
                    let message = error.errorFrame?.headers["message"] ?? ""
                    #expect(error.errorFrame?.command == .error, "\(error)")
                    #expect(message.lowercased().contains(expected), "'\(message)' should mention '\(expected)'")
                }
            }
            #expect(server.broker.statistics.authenticationFailures.value == cases.count)
            // The token also works as passcode.
            let passcode = StompClient.Options(host: "/", passcode: try await server.accessToken(for: "carol"))
            let carol = try await StompClient.connect(to: server.endpoint(transport), options: passcode)
            #expect(carol.connectedFrame.headers["user-name"] == "carol")
            try await carol.disconnect()
        }
    }

    @Test(arguments: ParleyTestServer.Transport.allCases)
    func protocolErrorsCloseTheSessionWithReceiptId(transport: ParleyTestServer.Transport) async throws {
        try await withParleyServer { server in
            let alice = try await server.connect("alice", over: transport)
            let bob = try await server.connect("bob", over: transport)
            do {
                try await alice.sendChat(chatJSON(to: "bob", sender: "bob"))
                Issue.record("spoofed senderId accepted")
            } catch {}
            let ended = await alice.waitUntilEnded()
            #expect(ended.errorFrame?.headers["message"] == "senderId does not match the authenticated user")
            #expect(ended.errorFrame?.headers["receipt-id"] != nil)
            do {
                _ = try await bob.subscribe(destination: "/user/alice/queue/messages", receipt: true)
                Issue.record("subscribing to another user's queue was accepted")
            } catch {}
            let bobEnded = await bob.waitUntilEnded()
            #expect(bobEnded.errorFrame?.headers["message"]?.contains("another user's queue") == true)
        }
    }

    @Test(arguments: ParleyTestServer.Transport.allCases)
    func ackModesAndRedeliveryAcrossSessions(transport: ParleyTestServer.Transport) async throws {
        try await withParleyServer { server in
            try await withTimeout(15) {
                let alice = try await server.connect("alice", over: transport)
                let bob1 = try await server.connect("bob", over: transport)
                let bob2 = try await server.connect("bob", over: transport)
                let queue1 = try await bob1.subscribe(destination: "/user/queue/messages", ack: .clientIndividual, receipt: true)
                let queue2 = try await bob2.subscribe(destination: "/user/queue/messages", ack: .client, receipt: true)
                try await alice.sendChat(chatJSON(to: "bob", content: "first"))
                try await alice.sendChat(chatJSON(to: "bob", content: "second"))
                let first = try await queue1.next()
                let second = try await queue1.next()
                #expect(first.headers["ack"] != nil)
                try await bob1.ack(second, receipt: true)
                // bob2 acks cumulatively through the second message.
                _ = try await queue2.next()
                try await bob2.ack(try await queue2.next(), receipt: true)
                // bob1 NACKs the first: redelivered to bob2.
                try await bob1.nack(first, receipt: true)
                let redelivered = try await queue2.next()
                #expect(redelivered.headers["redelivered"] == "true")
                #expect(try decodeEvent(redelivered).content == "first")
                // bob2 leaves without acking it: back to bob1, marked redelivered.
                await bob2.close()
                let back = try await queue1.next()
                #expect(back.headers["redelivered"] == "true")
                #expect(try decodeEvent(back).content == "first")
                try await bob1.disconnect()
                try await alice.disconnect()
            }
        }
    }

    @Test func silentClientIsDisconnectedByHeartBeatCheck() async throws {
        try await withParleyServer(.init(broker: BrokerConfiguration(heartBeat: StompHeartBeat(send: 0, receive: 100)))) { server in
            let connection = try await StompConnection.connect(to: server.endpoint(.tcp))
            var connect = StompFrame(.connect, headers: ["accept-version": "1.2", "host": "/", "heart-beat": "100,0"])
            connect.headers["Authorization"] = "Bearer \(try await server.accessToken(for: "alice"))"
            try await connection.send(connect)
            let start = ContinuousClock.now
            let frames = try await withTimeout(5) {
                var frames: [StompFrame] = []
                for try await decoded in connection.inbound { if case .frame(let frame) = decoded { frames.append(frame) } }
                return frames
            }
            #expect(frames.map(\.command) == [.connected, .error])
            #expect(frames.first?.headers["heart-beat"] == "0,100")
            #expect(frames.last?.headers["message"]?.contains("heart-beat timeout") == true)
            #expect(ContinuousClock.now - start >= .milliseconds(150))
        }
    }

    @Test func slowConsumerIsDisconnectedAndCounted() async throws {
        try await withParleyServer(.init(broker: BrokerConfiguration(outboundBufferLimit: 256 * 1024, allowClientTopicSends: true))) { server in
            let slow = try await RawConnection.connect(port: server.tcpPort, autoRead: false)
            let token = try await server.accessToken(for: "slow")
            try await slow.send("CONNECT\naccept-version:1.2\nhost:/\nAuthorization:Bearer \(token)\n\n\0SUBSCRIBE\nid:1\ndestination:/topic/flood\n\n\0")
            let publisher = try await server.connect("fast", over: .tcp)
            _ = try await publisher.subscribe(destination: "/topic/other", receipt: true)
            let chunk = String(repeating: "x", count: 64 * 1024)
            try await withTimeout(20) {
                var sent = 0
                while server.broker.statistics.slowConsumerDisconnects.value == 0 {
                    try await publisher.send(destination: "/topic/flood", body: chunk, receipt: sent % 16 == 0)
                    sent += 1
                    #expect(sent < 2000, "kernel buffers should fill long before 128 MB")
                    if sent >= 2000 { return }
                }
            }
            #expect(server.broker.statistics.slowConsumerDisconnects.value == 1)
            try await publisher.disconnect()
            await slow.close()
        }
    }

    @Test func shutdownSendsErrorToSessions() async throws {
        try await withParleyServer { server in
            let alice = try await server.connect("alice", over: .webSocket)
            let bob = try await server.connect("bob", over: .tcp)
            await server.chat.stop()
            for client in [alice, bob] {
                let ended = await client.waitUntilEnded()
                #expect(ended.errorFrame?.headers["message"] == "server is shutting down")
            }
            #expect(server.broker.sessionCount == 0)
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct ServiceLifecycleTests {
    @Test func runReturnsAfterCancellationAndClosesSessions() async throws {
        let secret = try JWTSecret(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) })
        let jwt = await JWTService(secret: secret)
        let server = ChatServer(configuration: ChatServerConfiguration(
            host: "127.0.0.1", wsPort: 0, tcpPort: nil, authenticator: JWTStompAuthenticator(service: jwt)))
        let running = Task { try await server.run() }
        let port = try await withTimeout(5) {
            while server.ports == nil { try await Task.sleep(for: .milliseconds(5)) }
            return server.ports!.webSocket!
        }
        #expect(server.ports?.tcp == nil, "a nil port disables that transport")
        let options = StompClient.Options(host: "/", bearerToken: try await jwt.issue(.access, subject: "alice").token)
        let client = try await StompClient.connect(
            to: .webSocket(host: "127.0.0.1", port: port, path: "/ws/chat"), options: options)
        running.cancel()
        try await withTimeout(10) { try await running.value }
        let ended = await client.waitUntilEnded()
        #expect(ended.errorFrame?.headers["message"] == "server is shutting down")
        await #expect(throws: (any Error).self) {
            _ = try await StompClient.connect(to: .webSocket(host: "127.0.0.1", port: port, path: "/ws/chat"), options: options)
        }
    }
}

/// After a storm of disconnects the server hands freed memory back to the OS (`malloc_trim`), once, when the
/// closing has stopped.
@Suite struct MemoryTrimTests {
    @Test func aDisconnectStormIsFollowedByOneTrim() async throws {
        try await withParleyServer { server in
            var connections: [RawConnection] = []
            for _ in 0..<300 { connections.append(try await RawConnection.connect(port: server.tcpPort)) }
            try await Task.sleep(for: .milliseconds(200))
            #expect(server.chat.memoryTrims == 0)
            for connection in connections { await connection.close() }
            let deadline = ContinuousClock.now + .seconds(10)
            while server.chat.memoryTrims == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(server.chat.memoryTrims == 1)
        }
    }
}
