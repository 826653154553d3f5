import NIOCore
import ParleyClient
import ParleyCodec
import Testing

/// The low-level connection against the in-test echo server, over real loopback sockets, both transports.
struct StompConnectionTests {
    private static let connectFrame = Array("CONNECT\naccept-version:1.2\nhost:test\n\n\0".utf8)

    @Test(arguments: [false, true])
    func rawBytesInFramesOut(webSocket: Bool) async throws {
        let server = try await EchoStompServer.start(webSocket: webSocket)
        defer { Task { await server.stop() } }
        try await withTimeout(10, "raw exchange") {
            let connection = try await StompConnection.connect(to: try StompEndpoint(url: server.url))
            #expect(connection.negotiatedSubprotocol == (webSocket ? "v12.stomp" : nil))
            // A CONNECT split in two writes (two WebSocket messages), then a heart-beat.
            try await connection.sendRaw(Self.connectFrame[0..<10])
            try await connection.sendRaw(Self.connectFrame[10...])
            try await connection.sendHeartBeat()
            var inbound = connection.inbound.makeAsyncIterator()
            let connected = try await inbound.next()
            guard case .frame(let frame) = connected else {
                Issue.record("expected CONNECTED, got \(String(describing: connected))")
                return
            }
            #expect(frame.command == .connected)
            #expect(frame.headers["session"] == "echo-1")
            // Two frames in one message, the first subscribes, the second is echoed back to it.
            var batch = StompEncoder.encode(StompFrame(.subscribe, headers: ["id": "s1", "destination": "/d"]))
            var send = StompEncoder.encode(StompFrame(.send, headers: ["destination": "/d", "receipt": "r1"], body: "a:b\nc"))
            batch.writeBuffer(&send)
            try await connection.sendRaw(Array(batch.readableBytesView))
            let message = try await inbound.next()
            #expect(message == .frame(StompFrame(.message, headers: [
                "destination": "/d", "subscription": "s1", "message-id": "m-1", "content-length": "5",
            ], body: "a:b\nc")))
            #expect(try await inbound.next() == .frame(StompFrame(.receipt, headers: ["receipt-id": "r1"])))
            #expect(server.heartBeatCount == 1)
            // The server closes after DISCONNECT: the inbound sequence ends after the RECEIPT.
            try await connection.send(StompFrame(.disconnect, headers: ["receipt": "bye"]))
            #expect(try await inbound.next() == .frame(StompFrame(.receipt, headers: ["receipt-id": "bye"])))
            #expect(try await inbound.next() == nil)
            await #expect(throws: StompConnectionError.connectionClosed) {
                try await connection.send(StompFrame(.send, headers: ["destination": "/d"]))
            }
        }
    }

    @Test(arguments: [false, true])
    func decodingErrorsEndTheSequenceWithTheError(webSocket: Bool) async throws {
        let server = try await EchoStompServer.start(webSocket: webSocket)
        defer { Task { await server.stop() } }
        try await withTimeout(10, "decoding error") {
            var configuration = StompConnection.Configuration()
            configuration.limits.maxCommandLength = 32
            let connection = try await StompConnection.connect(to: try StompEndpoint(url: server.url), configuration: configuration)
            try await connection.sendRaw(Self.connectFrame)
            try await connection.send(StompFrame(.send, headers: ["destination": "/garbage"]))
            var inbound = connection.inbound.makeAsyncIterator()
            guard case .frame(let connected) = try await inbound.next() else {
                Issue.record("expected CONNECTED")
                return
            }
            #expect(connected.command == .connected)
            do {
                let next = try await inbound.next()
                Issue.record("expected a decoding error, got \(String(describing: next))")
            } catch let error as StompDecodingError {
                #expect(error.kind == .commandTooLong)
            }
        }
    }

    @Test(arguments: [false, true])
    func frameCutOffByTheCloseIsAnError(webSocket: Bool) async throws {
        let server = try await EchoStompServer.start(webSocket: webSocket)
        defer { Task { await server.stop() } }
        try await withTimeout(10, "truncated frame") {
            let connection = try await StompConnection.connect(to: try StompEndpoint(url: server.url))
            try await connection.sendRaw(Self.connectFrame)
            try await connection.send(StompFrame(.send, headers: ["destination": "/truncated"]))
            var inbound = connection.inbound.makeAsyncIterator()
            guard case .frame(let connected) = try await inbound.next() else {
                Issue.record("expected CONNECTED")
                return
            }
            #expect(connected.command == .connected)
            do {
                let next = try await inbound.next()
                Issue.record("expected the cut-off frame to be an error, got \(String(describing: next))")
            } catch let error as ByteToMessageDecoderError {
                guard case .leftoverDataWhenDone(let leftover) = error else {
                    Issue.record("unexpected \(error)")
                    return
                }
                // The streaming decoder had parsed the headers already; the body bytes are what was left.
                #expect(String(buffer: leftover) == "hal")
            }
        }
    }

    @Test func webSocketUpgradeRejectionIsAnError() async throws {
        let server = try await EchoStompServer.start(webSocket: true)
        defer { Task { await server.stop() } }
        try await withTimeout(10, "rejected upgrade") {
            await #expect(throws: StompConnectionError.webSocketUpgradeRejected(status: 404, reason: "Not Found")) {
                _ = try await StompConnection.connect(to: .webSocket(host: "127.0.0.1", port: server.port, path: "/nope"))
            }
        }
    }

    @Test func refusedConnectionIsAnError() async throws {
        let server = try await EchoStompServer.start()
        let port = server.port
        await server.stop()
        _ = try await withTimeout(10, "refused") {
            do {
                _ = try await StompConnection.connect(to: .tcp(host: "127.0.0.1", port: port))
                Issue.record("connect to a closed port succeeded")
            } catch let error as StompConnectionError {
                guard case .connectFailed = error else { Issue.record("unexpected \(error)"); return }
            }
        }
    }
}
