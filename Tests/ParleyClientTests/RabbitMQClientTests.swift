import NIOCore
import ParleyClient
import ParleyCodec
import Testing

/// The client against a real RabbitMQ (STOMP plugin over TCP and Web-STOMP), both transports.
@Suite(.enabled(if: RabbitMQ.isConfigured, RabbitMQ.skipReason))
struct RabbitMQClientTests {
    @Test(arguments: RabbitMQ.endpoints)
    func connectsAndNegotiates(endpoint: StompEndpoint) async throws {
        try await withTimeout(10, "connect") {
            let client = try await StompClient.connect(to: endpoint, options: RabbitMQ.options())
            #expect(client.version == .v1_2)
            #expect(client.connectedFrame.command == .connected)
            #expect(client.connectedFrame.headers["server"]?.hasPrefix("RabbitMQ") == true)
            if case .webSocket = endpoint.transport {
                #expect(client.connection.negotiatedSubprotocol == "v12.stomp")
            } else {
                #expect(client.connection.negotiatedSubprotocol == nil)
            }
            try await client.disconnect()
            #expect(client.endReason == .disconnected)
        }
    }

    @Test(arguments: RabbitMQ.endpoints)
    func sendWithReceiptThenReceive(endpoint: StompEndpoint) async throws {
        try await withTimeout(10, "send/receive") {
            let client = try await StompClient.connect(to: endpoint, options: RabbitMQ.options())
            let queue = RabbitMQ.uniqueQueue("echo")
            let subscription = try await client.subscribe(destination: queue, receipt: true)
            for index in 0..<20 {
                try await client.send(destination: queue, body: "message \(index)", headers: ["x-index": "\(index)"], receipt: index % 5 == 0)
            }
            var received: [String] = []
            for try await message in subscription {
                #expect(message.headers["subscription"] == subscription.id)
                #expect(message.headers["x-index"] == "\(received.count)")
                received.append(message.bodyString)
                if received.count == 20 { break }
            }
            #expect(received == (0..<20).map { "message \($0)" })
            try await client.unsubscribe(subscription)
            try await client.disconnect()
        }
    }

    @Test(arguments: RabbitMQ.endpoints)
    func clientIndividualAckAndNackRedelivers(endpoint: StompEndpoint) async throws {
        try await withTimeout(10, "ack/nack") {
            let queue = RabbitMQ.uniqueQueue("ack")
            let client = try await StompClient.connect(to: endpoint, options: RabbitMQ.options())
            let subscription = try await client.subscribe(
                destination: queue, ack: .clientIndividual, headers: ["prefetch-count": "10"], receipt: true)
            try await client.send(destination: queue, body: "first", receipt: true)
            var iterator = subscription.makeAsyncIterator()
            let first = try #require(try await iterator.next())
            #expect(first.headers["ack"] != nil)
            // NACK with requeue: RabbitMQ delivers it again, marked redelivered.
            try await client.nack(first, receipt: true)
            let again = try #require(try await iterator.next())
            #expect(again.bodyString == "first")
            #expect(again.headers["redelivered"] == "true")
            try await client.ack(again, receipt: true)
            try await client.disconnect()
        }
    }

    @Test(arguments: RabbitMQ.endpoints)
    func badLoginIsRejectedWithTheErrorFrame(endpoint: StompEndpoint) async throws {
        try await withTimeout(10, "bad login") {
            var options = RabbitMQ.options()
            options.passcode = "wrong"
            do {
                _ = try await StompClient.connect(to: endpoint, options: options)
                Issue.record("CONNECT with a wrong passcode succeeded")
            } catch let error as StompClientError {
                guard case .connectRejected(let frame) = error else {
                    Issue.record("expected connectRejected, got \(error)")
                    return
                }
                #expect(frame.command == .error)
                #expect(frame.headers["message"]?.isEmpty == false)
            }
        }
    }

    @Test(arguments: RabbitMQ.endpoints)
    func heartBeatsAreNegotiatedAndKeepTheSessionAlive(endpoint: StompEndpoint) async throws {
        try await withTimeout(10, "heart-beats") {
            // We send every 200 ms and want to hear every 200 ms; RabbitMQ rounds up to whole seconds.
            let client = try await StompClient.connect(
                to: endpoint, options: RabbitMQ.options(heartBeat: StompHeartBeat(send: 200, receive: 1000)))
            let serverBeat = try #require(client.connectedFrame.headers["heart-beat"].flatMap(StompHeartBeat.init(header:)))
            #expect(serverBeat.send > 0)
            try await Task.sleep(for: .milliseconds(2500))
            #expect(client.endReason == nil)
            let queue = RabbitMQ.uniqueQueue("hb")
            let subscription = try await client.subscribe(destination: queue, receipt: true)
            try await client.send(destination: queue, body: "still here", receipt: true)
            var iterator = subscription.makeAsyncIterator()
            #expect(try await iterator.next()?.bodyString == "still here")
            try await client.disconnect()
        }
    }

    @Test(arguments: RabbitMQ.endpoints)
    func rawMalformedFrameEndsTheInboundSequence(endpoint: StompEndpoint) async throws {
        try await withTimeout(15, "malformed frame") {
            let connection = try await StompConnection.connect(to: endpoint)
            try await connection.send(StompFrame(.connect, headers: ["accept-version": "1.2", "host": "/", "login": "guest", "passcode": "guest"]))
            var inbound = connection.inbound.makeAsyncIterator()
            guard case .frame(let connected) = try await inbound.next() else {
                Issue.record("expected CONNECTED")
                return
            }
            #expect(connected.command == .connected)
            // An invalid content-length makes RabbitMQ drop the connection (with or without ERROR first).
            try await connection.sendRaw(Array("SEND\ndestination:/queue/x\ncontent-length:abc\n\nhello\0".utf8))
            var commands: [StompCommand] = []
            while let element = try await inbound.next() {
                if case .frame(let frame) = element { commands.append(frame.command) }
            }
            #expect(commands.allSatisfy { $0 == .error })
            #expect(!connection.isActive)
        }
    }
}
