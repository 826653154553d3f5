import Foundation
import ParleyConformance
import ParleyProfiles
import Testing

/// Runner behaviour that needs no broker: skipping, filters, deviations, and a refused connection on a real socket.
@Suite struct RunnerTests {
    func runner(profile: ServerProfile, url: String = "tcp://127.0.0.1:1", secret: [UInt8]? = nil) throws -> ConformanceRunner {
        try ConformanceRunner(
            configuration: .init(
                profile: profile, url: url, jwtSecret: secret, fixturesDirectory: kit.fixturesDirectory,
                conversationTimeout: 10))
    }

    @Test func conversationsNeedingMissingCapabilitiesAreSkipped() async throws {
        let runner = try runner(profile: try kit.profile(named: "rabbitmq"))
        let result = await runner.run(try kit.conversation(named: "auth-forged-token-rejected"))
        #expect(result.verdict == .skipped)
        #expect(result.reason == "capability missing: auth-bearer")
    }

    @Test func tokenMintingNeedsTheSecret() throws {
        let parley = try kit.profile(named: "parley")
        #expect(!(try runner(profile: parley).capabilities.contains("token-minting")))
        #expect(try runner(profile: parley, secret: Array("0123456789abcdef0123456789abcdef".utf8)).capabilities.contains("token-minting"))
        // A profile without token_minting never mints, even when a secret is passed.
        #expect(!(try runner(profile: try kit.profile(named: "rabbitmq"), secret: [1, 2, 3]).capabilities.contains("token-minting")))
    }

    @Test func refusedConnectionFailsWithAClearMessage() async throws {
        let runner = try runner(profile: try kit.profile(named: "rabbitmq"))
        let result = await runner.run(try kit.conversation(named: "connect-1.2"))
        #expect(result.verdict == .fail)
        let failure = try #require(result.failure)
        #expect(failure.step == "1")
        #expect(failure.client == "alice")
        #expect(failure.message.hasPrefix("cannot connect to tcp://127.0.0.1:1"))
    }

    @Test func listedDeviationTurnsAFailureIntoADeviation() async throws {
        var profile = try kit.profile(named: "rabbitmq")
        profile.deviations = [KnownDeviation(conversation: "connect-1.2", reason: "test reason", transports: [.tcp])]
        let result = await (try runner(profile: profile)).run(try kit.conversation(named: "connect-1.2"))
        #expect(result.verdict == .deviation)
        #expect(result.reason == "test reason")
        profile.deviations = [KnownDeviation(conversation: "connect-1.2", reason: "ws only", transports: [.websocket])]
        #expect(await (try runner(profile: profile)).run(try kit.conversation(named: "connect-1.2")).verdict == .fail)
    }

    @Test func filtersSelectByTagAndName() async throws {
        var configuration = ConformanceRunner.Configuration(
            profile: try kit.profile(named: "rabbitmq"), url: "tcp://127.0.0.1:1", tagFilter: ["auth-bearer"],
            fixturesDirectory: kit.fixturesDirectory)
        let conversations = try kit.conversations()
        let byTag = await (try ConformanceRunner(configuration: configuration)).run(conversations)
        #expect(!byTag.results.isEmpty)
        #expect(byTag.results.allSatisfy { $0.tags.contains("auth-bearer") && $0.verdict == .skipped })
        configuration.tagFilter = nil
        configuration.nameFilter = ["connect-1.0", "connect-1.1"]
        let byName = await (try ConformanceRunner(configuration: configuration)).run(conversations)
        #expect(byName.results.map(\.name) == ["connect-1.0", "connect-1.1"])
    }

    @Test func badURLIsASetupError() throws {
        #expect(throws: ConformanceSetupError.self) { try runner(profile: try kit.profile(named: "rabbitmq"), url: "http://x:1") }
    }
}

/// The STOMP URL in an environment variable (`host:port` means TCP), nil when unset.
func environmentURL(_ name: String, scheme: String) -> String? {
    guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
    return value.contains("://") ? value : "\(scheme)://\(value)"
}

/// Runs one conversation against a real broker and records anything but pass/deviation/skip as an issue.
func expectConforms(profile: String, url: String, conversation name: String) async throws {
    let runner = try ConformanceRunner(
        configuration: .init(profile: try kit.profile(named: profile), url: url, fixturesDirectory: kit.fixturesDirectory))
    let result = await runner.run(try kit.conversation(named: name))
    if result.verdict == .fail {
        Issue.record("\(profile) \(url) \(name) failed:\n\(result.failure?.text ?? result.reason ?? "")")
    }
    if result.verdict == .deviation { print("\(profile) \(runner.transport.rawValue) \(name): known deviation: \(result.reason ?? "")") }
}

let rabbitTCP = environmentURL("PARLEY_RABBITMQ_STOMP", scheme: "tcp")
let rabbitWS = environmentURL("PARLEY_RABBITMQ_WS", scheme: "ws")
let activeMQ = environmentURL("PARLEY_ACTIVEMQ_STOMP", scheme: "tcp")

/// The whole suite against RabbitMQ (CI sets the variables; start one with conformance/peers/rabbitmq.sh).
@Suite struct RabbitMQConformanceTests {
    @Test(
        .enabled(if: rabbitTCP != nil, "PARLEY_RABBITMQ_STOMP not set: run `eval $(conformance/peers/rabbitmq.sh start)`"),
        arguments: kit.conversationNames())
    func overTCP(conversation: String) async throws {
        try await expectConforms(profile: "rabbitmq", url: rabbitTCP!, conversation: conversation)
    }

    @Test(
        .enabled(if: rabbitWS != nil, "PARLEY_RABBITMQ_WS not set: run `eval $(conformance/peers/rabbitmq.sh start)`"),
        arguments: kit.conversationNames())
    func overWebSocket(conversation: String) async throws {
        try await expectConforms(profile: "rabbitmq", url: rabbitWS!, conversation: conversation)
    }

    @Test(.enabled(if: rabbitTCP != nil, "PARLEY_RABBITMQ_STOMP not set"))
    func aWrongExpectationFailsWithTheFramesReceived() async throws {
        // The runner must be able to fail: expect the wrong body from a real broker.
        let yaml = """
            name: wrong-body
            title: expects the wrong body
            tags: [generic]
            clients:
              alice: {}
            steps:
              - alice: connect
              - alice: {subscribe: "${queue:wrong}", receipt: s}
              - alice: {expect: RECEIPT, headers: {receipt-id: s}}
              - alice: {send: "${queue:wrong}", body: actual}
              - alice: {expect: MESSAGE, body: expected, within: 2s}
            """
        let conversation = try ConversationParser(source: "wrong-body.yaml").parse(yaml)
        let runner = try ConformanceRunner(
            configuration: .init(profile: try kit.profile(named: "rabbitmq"), url: rabbitTCP!, fixturesDirectory: kit.fixturesDirectory))
        let result = await runner.run(conversation)
        #expect(result.verdict == .fail)
        let failure = try #require(result.failure)
        #expect(failure.step == "5")
        #expect(failure.message == #"body is "actual", expected "expected""#)
        #expect(failure.received.count == 1)
        #expect(failure.received[0].hasPrefix("MESSAGE\n"))
        #expect(failure.received[0].hasSuffix("\n\nactual^@"))
    }
}


/// The whole suite against ActiveMQ over TCP (start one with conformance/peers/activemq.sh).
@Suite struct ActiveMQConformanceTests {
    @Test(
        .enabled(if: activeMQ != nil, "PARLEY_ACTIVEMQ_STOMP not set: run `eval $(conformance/peers/activemq.sh start)`"),
        arguments: kit.conversationNames())
    func overTCP(conversation: String) async throws {
        try await expectConforms(profile: "activemq", url: activeMQ!, conversation: conversation)
    }
}

/// Any server: set PARLEY_CONFORMANCE_PROFILE and PARLEY_CONFORMANCE_URL (and for bearer profiles
/// PARLEY_CONFORMANCE_ACCOUNT_URL, optionally PARLEY_JWT_SECRET) to run every conversation as its own test.
@Suite struct ExternalServerConformanceTests {
    static let profile = ProcessInfo.processInfo.environment["PARLEY_CONFORMANCE_PROFILE"]
    static let url = ProcessInfo.processInfo.environment["PARLEY_CONFORMANCE_URL"]

    @Test(
        .enabled(if: profile != nil && url != nil, "PARLEY_CONFORMANCE_PROFILE/PARLEY_CONFORMANCE_URL not set"),
        arguments: kit.conversationNames())
    func conversation(name: String) async throws {
        let environment = ProcessInfo.processInfo.environment
        let profile = try kit.profile(named: Self.profile!)
        let secretVariable = profile.auth.tokenMinting?.secretEnv ?? "PARLEY_JWT_SECRET"
        let runner = try ConformanceRunner(
            configuration: .init(
                profile: profile, url: Self.url!,
                accountURL: environment["PARLEY_CONFORMANCE_ACCOUNT_URL"].flatMap(URL.init(string:)),
                jwtSecret: environment[secretVariable].map { Array($0.utf8) }, fixturesDirectory: kit.fixturesDirectory))
        let result = await runner.run(try kit.conversation(named: name))
        if result.verdict == .fail { Issue.record("\(name) failed:\n\(result.failure?.text ?? result.reason ?? "")") }
    }
}
