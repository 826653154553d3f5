import Foundation
import ParleyBroker
import ParleyCodec
import ParleyConformance
import ParleyJSON
import ParleyProfiles
import ParleyTesting
import Testing

/// The in-process Parley the conversations run against: account API on a real SQLite file and chat over TCP and
/// WebSocket, sharing a known JWT secret so the runner can mint expired tokens; one per test.
/// Heart-beats are 1 s (RabbitMQ-like) instead of the 10 s default so the heart-beat conversations stay fast.
/// The in-process Parley the conversations run against: 1 s heart-beats, and client SENDs to non-room topics
/// allowed, as the `parley` profile's `topic` capability assumes (`parley serve --allow-client-topic-sends true`).
let inProcessParley = ParleyTestServer.Options(
    broker: BrokerConfiguration(heartBeat: StompHeartBeat(send: 1000, receive: 1000), allowClientTopicSends: true))

/// Runs one conversation against the in-process Parley and records a failure as an issue.
func expectParleyConforms(_ name: String, transport: String) async throws {
    let result = try await withParleyServer(inProcessParley) { parley in
        let runner = try ConformanceRunner(
            configuration: .init(
                profile: try kit.profile(named: "parley"),
                url: transport == "tcp" ? parley.tcpURL : parley.webSocketURL, accountURL: parley.accountURL,
                jwtSecret: parley.secret, fixturesDirectory: kit.fixturesDirectory, conversationTimeout: 20))
        return await runner.run(try kit.conversation(named: name))
    }
    switch result.verdict {
    case .fail: Issue.record("parley \(transport) \(name) failed:\n\(result.failure?.text ?? result.reason ?? "")")
    case .deviation: print("parley \(transport) \(name): known deviation: \(result.reason ?? "")")
    case .pass, .skipped: break
    }
}

/// Every conversation against an in-process Parley over TCP: one test case each. Serialized because
/// conversations are timing-sensitive and the package's tests share 2 cores.
@Suite(.serialized) struct ParleyInProcessTCPConformanceTests {
    @Test(arguments: kit.conversationNames())
    func conversation(name: String) async throws { try await expectParleyConforms(name, transport: "tcp") }
}

/// Every conversation against an in-process Parley over WebSocket: one test case each.
@Suite(.serialized) struct ParleyInProcessWebSocketConformanceTests {
    @Test(arguments: kit.conversationNames())
    func conversation(name: String) async throws { try await expectParleyConforms(name, transport: "websocket") }
}

/// The whole suite as one run per transport, printing the summary table; with PARLEY_CONFORMANCE_REPORT_DIR set
/// it also writes `parley-tcp.json`/`parley-websocket.json` and JUnit XML there (the docs/conformance.md table).
@Suite(.serialized) struct ParleyInProcessReportTests {
    static let reportDirectory = ProcessInfo.processInfo.environment["PARLEY_CONFORMANCE_REPORT_DIR"]

    @Test(.enabled(if: reportDirectory != nil, "PARLEY_CONFORMANCE_REPORT_DIR not set"), arguments: ["tcp", "websocket"])
    func wholeSuite(transport: String) async throws {
        try await withParleyServer(inProcessParley) { parley in
            let runner = try ConformanceRunner(
                configuration: .init(
                    profile: try kit.profile(named: "parley"),
                    url: transport == "tcp" ? parley.tcpURL : parley.webSocketURL, accountURL: parley.accountURL,
                    jwtSecret: parley.secret, fixturesDirectory: kit.fixturesDirectory))
            let report = await runner.run(try kit.conversations())
            print(report.summaryTable())
            let directory = URL(fileURLWithPath: Self.reportDirectory!)
            try report.jsonData().write(to: directory.appendingPathComponent("parley-\(transport).json"))
            try JUnitReport.xml(for: [report]).write(
                to: directory.appendingPathComponent("parley-\(transport).xml"), atomically: true, encoding: .utf8)
            #expect(report.succeeded)
        }
    }
}

/// `CredentialProvider` against the real account API (SQLite, bcrypt): signup + login, user id from the token.
@Suite struct AccountProvisioningTests {
    @Test func providerCreatesAccountsAndReadsTheSubject() async throws {
        try await withParleyServer(inProcessParley) { parley in
            let profile = try kit.profile(named: "parley")
            let runID = CredentialProvider.makeRunID()
            let provider = try CredentialProvider(profile: profile, accountURL: parley.accountURL, runID: runID)
            let alice = try await provider.credentials(for: "alice")
            #expect(alice.login == "alice-\(runID)")
            #expect(alice.connectHeaders.first?.name == "Authorization")
            #expect(alice.connectHeaders.first?.value.hasPrefix("Bearer ey") == true)
            #expect(alice.refreshToken != nil)
            #expect(JWTPeek.claims(of: alice.accessToken!)?["token_type"] == .string("access"))
            #expect(alice.userID == JWTPeek.subject(of: alice.accessToken!))
            #expect(try await provider.credentials(for: "alice") == alice)  // cached
            // A second run with the same id finds the account (409) and still logs in: reruns work.
            let again = try CredentialProvider(profile: profile, accountURL: parley.accountURL, runID: runID)
            #expect(try await again.credentials(for: "alice").userID == alice.userID)
        }
    }

    @Test func mintedTokensHaveTheServersClaims() async throws {
        let profile = try kit.profile(named: "parley")
        let factory = TokenFactory(settings: try #require(profile.auth.tokenMinting), secret: inProcessParley.secret)
        let expired = try #require(factory.expiredAccessToken(subject: "42"))
        let claims = try #require(JWTPeek.claims(of: expired))
        #expect(claims["sub"] == .string("42"))
        #expect(claims["token_type"] == .string("access"))
        #expect(TokenFactory(settings: try #require(profile.auth.tokenMinting), secret: nil).expiredAccessToken(subject: "42") == nil)
    }
}

/// `timeScale` stretches every wait for an expected event, so loaded CI machines can give slow peers room.
@Suite struct TimeScaleTests {
    static let silentRoom = """
        name: time-scale-probe
        title: Waits for a MESSAGE nobody sends
        tags: [generic]
        clients:
          alice: {}
        steps:
          - alice: connect
          - alice: {subscribe: "${topic:silent}", receipt: s}
          - alice: {expect: RECEIPT, headers: {receipt-id: s}}
          - alice: {expect: MESSAGE, within: 200ms}
        """

    @Test(arguments: [(1.0, "200 ms"), (3.0, "600 ms")])
    func expectationsWaitTheScaledTime(scale: Double, reported: String) async throws {
        try await withParleyServer(inProcessParley) { parley in
            let runner = try ConformanceRunner(
                configuration: .init(
                    profile: try kit.profile(named: "parley"), url: parley.tcpURL, accountURL: parley.accountURL,
                    fixturesDirectory: kit.fixturesDirectory, timeScale: scale))
            let result = await runner.run(try ConversationParser(source: "time-scale-probe").parse(Self.silentRoom))
            #expect(result.verdict == .fail)
            let failure = try #require(result.failure)
            #expect(failure.message == "no MESSAGE within \(reported)")
            #expect(result.seconds >= 0.2 * scale)
        }
    }
}
