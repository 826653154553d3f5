import Foundation
import ParleyClient
import ParleyLoad
import ParleyProfiles
import Testing

/// The conformance kit's server profiles drive the load generator too.
struct ProfileLoadTests {
    static let profiles = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("conformance/profiles")

    @Test func parleyProfileMapsToTheSpringDialect() throws {
        let profile = try ServerProfile.load(named: "parley", in: Self.profiles)
        let mapping = ProfileDestinationMapping(profile: profile)
        let alice = LoadParticipant(index: 0, principal: "alice", runID: "r1")
        let bob = LoadParticipant(index: 1, principal: "bob", runID: "r1")
        #expect(mapping.inboxDestination(of: bob) == "/user/queue/messages")
        let direct = mapping.directMessage(payload: "PL1|r1|0|0|1|1|", from: alice, to: bob)
        #expect(direct.destination == "/app/chat.sendMessage")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(direct.body.utf8)) as? [String: String])
        #expect(json["receiverId"] == "bob")
        #expect(json["content"] == "PL1|r1|0|0|1|1|")
        #expect(mapping.roomDestination(room: "lobby", runID: "r1") == "/topic/rooms.lobby")
    }

    @Test(.enabled(if: RabbitMQ.isConfigured, RabbitMQ.skipReason))
    func rabbitMQProfileRunsARing() async throws {
        let profile = try ServerProfile.load(named: "rabbitmq", in: Self.profiles)
        let runID = LoadSettings.randomRunID()
        let endpoint = try #require(RabbitMQ.endpoints.first)
        let settings = LoadSettings(
            endpoint: endpoint, mapping: ProfileDestinationMapping(profile: profile),
            credentials: try CredentialProvider(profile: profile, runID: runID),
            clientOptions: StompClient.Options(profile: profile), messagesPerSender: 10, timeout: .seconds(30),
            stallTimeout: .seconds(3), runID: runID)
        let result = try await RingScenario(settings: settings, clients: 5).run()
        #expect(result.mapping == "rabbitmq")
        #expect(result.delivered == 50)
        #expect(result.lost == 0)
    }
}
