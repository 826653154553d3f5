import NIOCore
import ParleyClient
import ParleyCodec
import ParleyWebSocket
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

    /// Connects, sends a SEND to `destination` (which makes the echo server misbehave) and returns the error
    /// that ended the inbound sequence after CONNECTED.
    private func errorAfterSending(
        to destination: String, webSocket: Bool, configuration: StompConnection.Configuration = .init()
    ) async throws -> (any Error)? {
        let server = try await EchoStompServer.start(webSocket: webSocket)
        defer { Task { await server.stop() } }
        return try await withTimeout(10, "error after SEND to \(destination)") {
            let connection = try await StompConnection.connect(to: try StompEndpoint(url: server.url), configuration: configuration)
            try await connection.sendRaw(Self.connectFrame)
            try await connection.send(StompFrame(.send, headers: ["destination": destination]))
            var inbound = connection.inbound.makeAsyncIterator()
            guard case .frame(let connected) = try await inbound.next(), connected.command == .connected else {
                Issue.record("expected CONNECTED")
                return nil
            }
            do {
                let next = try await inbound.next()
                Issue.record("expected the sequence to end with an error, got \(String(describing: next))")
                return nil
            } catch {
                return error
            }
        }
    }

    @Test(arguments: [false, true])
    func decodingErrorsEndTheSequenceWithTheError(webSocket: Bool) async throws {
        var configuration = StompConnection.Configuration()
        configuration.limits.maxCommandLength = 32
        let error = try await errorAfterSending(to: "/garbage", webSocket: webSocket, configuration: configuration)
        #expect((error as? StompDecodingError)?.kind == .commandTooLong, "\(String(describing: error))")
    }

    @Test(arguments: [false, true])
    func frameCutOffByTheCloseIsAnError(webSocket: Bool) async throws {
        let error = try await errorAfterSending(to: "/truncated", webSocket: webSocket)
        guard case .leftoverDataWhenDone(let leftover)? = error as? ByteToMessageDecoderError else {
            Issue.record("expected leftoverDataWhenDone, got \(String(describing: error))")
            return
        }
        // The streaming decoder had parsed the headers already; the body bytes are what was left.
        #expect(String(buffer: leftover) == "hal")
    }

    /// Pings get pongs with the same payload; a masked server frame (RFC 6455 §5.1) or a message over the limit ends
    /// the inbound sequence with the WebSocket error, and the client's close frame says why (1002, 1009).
    @Test func webSocketControlFramesAndViolations() async throws {
        let server = try await EchoStompServer.start(webSocket: true)
        defer { Task { await server.stop() } }
        try await withTimeout(20, "WebSocket control frames") {
            let pinged = try await StompConnection.connect(to: try StompEndpoint(url: server.url))
            try await pinged.sendRaw(Self.connectFrame)
            try await pinged.send(StompFrame(.send, headers: ["destination": "/ws-ping"]))
            try await waitUntil { server.webSocketControl.contains("pong:p-1") }
            await pinged.close()
            try await waitUntil { server.webSocketControl.contains("close:1000") }

            var configuration = StompConnection.Configuration()
            configuration.maxWebSocketFrameSize = 1_000
            for (destination, expected, code) in [
                ("/ws-masked", WebSocketWireError.protocolViolation("server frame masked"), "close:1002"),
                ("/ws-oversize", WebSocketWireError.payloadTooLarge(length: 2_000, limit: 1_000), "close:1009"),
            ] {
                let connection = try await StompConnection.connect(to: try StompEndpoint(url: server.url), configuration: configuration)
                try await connection.sendRaw(Self.connectFrame)
                try await connection.send(StompFrame(.send, headers: ["destination": destination]))
                var inbound = connection.inbound.makeAsyncIterator()
                await #expect(throws: expected) {
                    while try await inbound.next() != nil {}
                }
                try await waitUntil { server.webSocketControl.contains(code) }
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
