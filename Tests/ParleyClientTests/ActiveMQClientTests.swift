import Foundation
import ParleyClient
import ParleyCodec
import Testing

enum ActiveMQ {
    static let stompAddress = ProcessInfo.processInfo.environment["PARLEY_ACTIVEMQ_STOMP"]
    static let skipReason: Comment = "PARLEY_ACTIVEMQ_STOMP not set: start ActiveMQ with conformance/peers/activemq.sh"
    static var endpoint: StompEndpoint? { stompAddress.flatMap { try? StompEndpoint(url: "tcp://\($0)") } }
    static var options: StompClient.Options { StompClient.Options(login: "admin", passcode: "admin") }
}

/// The client against a real ActiveMQ Classic (STOMP over TCP only in Debian's build).
@Suite(.enabled(if: ActiveMQ.endpoint != nil, ActiveMQ.skipReason))
struct ActiveMQClientTests {
    @Test func sessionWithReceiptsAcksAndDisconnect() async throws {
        try await withTimeout(15, "ActiveMQ session") {
            let endpoint = try #require(ActiveMQ.endpoint)
            let client = try await StompClient.connect(to: endpoint, options: ActiveMQ.options)
            #expect(client.version == .v1_2)
            #expect(client.connectedFrame.headers["server"]?.contains("ActiveMQ") == true)
            let queue = "/queue/parley-test-amq-\(UUID().uuidString.prefix(8))"
            let subscription = try await client.subscribe(destination: queue, ack: .clientIndividual, receipt: true)
            try await client.send(destination: queue, body: "one", headers: ["x-k": "a:b"], receipt: true)
            try await client.send(destination: queue, body: "two", receipt: true)
            var iterator = subscription.makeAsyncIterator()
            let first = try #require(try await iterator.next())
            #expect(first.bodyString == "one")
            #expect(first.headers["x-k"] == "a:b")
            try await client.ack(first, receipt: true)
            let second = try #require(try await iterator.next())
            #expect(second.bodyString == "two")
            try await client.ack(second, receipt: true)
            try await client.disconnect()
            #expect(client.endReason == .disconnected)
        }
    }

    @Test func unknownCommandEndsTheSessionWithTheServersError() async throws {
        try await withTimeout(15, "ActiveMQ error") {
            let endpoint = try #require(ActiveMQ.endpoint)
            let client = try await StompClient.connect(to: endpoint, options: ActiveMQ.options)
            try await client.connection.sendRaw(Array("BOGUS\n\n\0".utf8))
            let reason = await client.waitUntilEnded()
            guard case .serverError(let frame) = reason else {
                Issue.record("expected serverError, got \(reason)")
                return
            }
            #expect(frame.command == .error)
        }
    }
}
