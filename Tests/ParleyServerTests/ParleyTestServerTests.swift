import Foundation
import ParleyClient
import ParleyTesting
import Testing

/// `withParleyServer` itself: the account API and chat wired to one secret, and a clean stop whatever the body does.
@Suite(.timeLimit(.minutes(1))) struct ParleyTestServerTests {
    @Test func usersSignedUpOnTheAccountAPIChatWithTheirLoginTokens() async throws {
        try await withParleyServer { server in
            let alice = try await server.signUpAndLogIn("alice")
            let bob = try await server.signUpAndLogIn("bob")
            #expect(alice.id != bob.id)
            let bobClient = try await StompClient.connect(
                to: server.endpoint(.webSocket), options: .init(host: "/", bearerToken: bob.accessToken))
            let inbox = try await bobClient.subscribe(destination: "/user/queue/messages", receipt: true)
            let aliceClient = try await StompClient.connect(
                to: try StompEndpoint(url: server.tcpURL), options: .init(host: "/", bearerToken: alice.accessToken))
            #expect(aliceClient.connectedFrame.headers["user-name"] == alice.id)
            try await aliceClient.sendChat(chatJSON(to: bob.id, content: "signed up"))
            let event = try decodeEvent(try await inbox.next())
            #expect(event.senderId == alice.id && event.receiverId == bob.id && event.content == "signed up")
            try await aliceClient.disconnect()
            try await bobClient.disconnect()
        }
    }

    struct BodyFailed: Error, Equatable {}

    @Test func everythingStopsAndTheDataDirectoryGoesWhenTheBodyThrows() async throws {
        var captured: (directory: String, ports: [Int])?
        await #expect(throws: BodyFailed()) {
            try await withParleyServer { server in
                captured = (server.dataDirectory, [server.tcpPort, server.webSocketPort, server.accountPort])
                #expect(FileManager.default.fileExists(atPath: server.dataDirectory))
                _ = try await server.connect("alice", over: .tcp)
                throw BodyFailed()
            }
        }
        let (directory, ports) = try #require(captured)
        #expect(!FileManager.default.fileExists(atPath: directory))
        for port in ports {
            await #expect(throws: (any Error).self, "port \(port) still accepts") {
                _ = try await RawConnection.connect(port: port)
            }
        }
    }

    @Test func chatOnlyServersWithOneSecretAcceptEachOthersTokens() async throws {
        let options = ParleyTestServer.Options(role: .chat, secret: Array(repeating: 42, count: 32), tcpPort: nil)
        try await withParleyServers([options, options]) { servers in
            let token = try await servers[0].accessToken(for: "carol")
            let client = try await StompClient.connect(
                to: .webSocket(host: "127.0.0.1", port: servers[1].webSocketPort, path: "/ws/chat"),
                options: .init(host: "/", bearerToken: token))
            #expect(client.connectedFrame.headers["user-name"] == "carol")
            try await client.disconnect()
            #expect(servers[1].broker.statistics.authenticationFailures.value == 0)
        }
    }
}
