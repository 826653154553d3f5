import Foundation
import ParleyCodec
import ParleyProfiles

/// A run that cannot start: bad URL, unreadable fixtures; the description is meant for a CLI user.
public struct ConformanceSetupError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// Runs conversations against one server described by a profile.
///
/// Each conversation gets fresh users (unique per run and conversation) so conversations never see each other's
/// messages, even on brokers whose queues are durable. Conversations run `concurrency` at a time; the clients of
/// one conversation run concurrently, each with its own connection.
public struct ConformanceRunner: Sendable {
    /// What to run against and how.
    public struct Configuration: Sendable {
        /// The server's profile.
        public var profile: ServerProfile
        /// STOMP URL: `tcp://host:port` or `ws://host:port/path`.
        public var url: String
        /// Account API base URL (bearer profiles); nil = the profile's default.
        public var accountURL: URL?
        /// Only conversations carrying at least one of these tags (nil = all).
        public var tagFilter: Set<String>?
        /// Only conversations with these names (nil = all).
        public var nameFilter: Set<String>?
        /// The server's JWT secret, enabling the `token-minting` capability (expired tokens).
        public var jwtSecret: [UInt8]?
        /// The `Fixtures` folder (for `raw_fixture`, which reads `Fixtures/frames/NAME.stomp`).
        public var fixturesDirectory: URL
        /// Conversations run at the same time.
        public var concurrency: Int
        /// Hard limit for one conversation, seconds.
        public var conversationTimeout: Double
        /// Unique token for this run (user names, destinations).
        public var runID: String
        /// Multiplies every wait for something to happen (`expect … within`, `expect_closed`,
        /// `expect_heart_beat`, connecting, the conversation limit) for slow or loaded servers. Waits that
        /// check nothing happens (`expect_nothing`) keep their length. Default 1; the
        /// `PARLEY_CONFORMANCE_TIME_SCALE` environment variable sets it for `swift test` and the CLI.
        public var timeScale: Double

        /// Creates a configuration.
        public init(
            profile: ServerProfile, url: String, accountURL: URL? = nil, tagFilter: Set<String>? = nil,
            nameFilter: Set<String>? = nil, jwtSecret: [UInt8]? = nil, fixturesDirectory: URL,
            concurrency: Int = 4, conversationTimeout: Double = 30, runID: String = CredentialProvider.makeRunID(),
            timeScale: Double = Configuration.environmentTimeScale ?? 1
        ) {
            self.profile = profile
            self.url = url
            self.accountURL = accountURL
            self.tagFilter = tagFilter
            self.nameFilter = nameFilter
            self.jwtSecret = jwtSecret
            self.fixturesDirectory = fixturesDirectory
            self.concurrency = concurrency
            self.conversationTimeout = conversationTimeout
            self.runID = runID
            self.timeScale = timeScale
        }

        /// `PARLEY_CONFORMANCE_TIME_SCALE` when set to a positive number.
        public static var environmentTimeScale: Double? {
            ProcessInfo.processInfo.environment["PARLEY_CONFORMANCE_TIME_SCALE"].flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil }
        }
    }

    /// The configuration.
    public let configuration: Configuration
    /// The transport selected by the URL.
    public let transport: TransportKind
    let endpoint: ConformanceEndpoint
    let credentials: CredentialProvider
    let tokens: TokenFactory

    /// Validates the URL and prepares credential provisioning.
    public init(configuration: Configuration) throws(ConformanceSetupError) {
        self.configuration = configuration
        do {
            endpoint = try ConformanceEndpoint(url: configuration.url)
        } catch {
            throw error
        }
        transport = endpoint.transport
        do {
            credentials = try CredentialProvider(
                profile: configuration.profile, accountURL: configuration.accountURL, runID: configuration.runID)
        } catch {
            throw ConformanceSetupError("\(error)")
        }
        tokens = TokenFactory(
            settings: configuration.profile.auth.tokenMinting ?? TokenMintingSettings(secretEnv: "PARLEY_JWT_SECRET"),
            secret: configuration.profile.auth.tokenMinting == nil ? nil : configuration.jwtSecret)
    }

    /// Capabilities in effect: the profile's, plus `token-minting` when a secret was given, plus the transport.
    public var capabilities: Set<String> {
        var result = configuration.profile.capabilities
        if tokens.canMint { result.insert("token-minting") }
        return result
    }

    /// Why `conversation` would be skipped, or nil when it applies.
    public func skipReason(for conversation: Conversation) -> String? {
        if let transports = conversation.transports, !transports.contains(transport.rawValue) {
            return "applies to \(transports.joined(separator: ", ")) only"
        }
        let missing = conversation.tags.filter { !capabilities.contains($0) }
        if !missing.isEmpty {
            return "capability missing: \(missing.joined(separator: ", "))"
        }
        return nil
    }

    /// Whether the filters select `conversation`.
    public func isSelected(_ conversation: Conversation) -> Bool {
        if let names = configuration.nameFilter, !names.contains(conversation.name) { return false }
        if let tags = configuration.tagFilter, tags.isDisjoint(with: conversation.tags) { return false }
        return true
    }

    /// Runs the selected conversations and reports each result through `progress` as it finishes.
    public func run(
        _ conversations: [Conversation], progress: (@Sendable (ConversationResult) -> Void)? = nil
    ) async -> ConformanceReport {
        let started = Date()
        let clock = ContinuousClock.now
        let selected = conversations.filter(isSelected)
        var results = [ConversationResult?](repeating: nil, count: selected.count)
        await withTaskGroup(of: (Int, ConversationResult).self) { group in
            var next = 0
            func startNext() {
                guard next < selected.count else { return }
                let index = next
                next += 1
                group.addTask { (index, await self.run(selected[index], index: index)) }
            }
            for _ in 0..<max(1, configuration.concurrency) { startNext() }
            while let (index, result) = await group.next() {
                results[index] = result
                progress?(result)
                startNext()
            }
        }
        let elapsed = ContinuousClock.now - clock
        return ConformanceReport(
            profile: configuration.profile.name, url: configuration.url, transport: transport.rawValue,
            startedAt: ISO8601DateFormatter().string(from: started), seconds: elapsed.seconds,
            results: results.compactMap { $0 })
    }

    /// Runs one conversation (skipping it when it does not apply). `index` keeps its users apart from others'.
    public func run(_ conversation: Conversation, index: Int = 0) async -> ConversationResult {
        if let reason = skipReason(for: conversation) {
            return ConversationResult(
                name: conversation.name, title: conversation.title, tags: conversation.tags, verdict: .skipped,
                seconds: 0, reason: reason)
        }
        let start = ContinuousClock.now
        let execution = ConversationExecution(runner: self, conversation: conversation, index: index)
        let failure = await execution.runWithTimeout(seconds: configuration.conversationTimeout * configuration.timeScale)
        let seconds = (ContinuousClock.now - start).seconds
        let deviations = configuration.profile.deviations(for: conversation.name, transport: transport)
        guard let failure else {
            return ConversationResult(
                name: conversation.name, title: conversation.title, tags: conversation.tags, verdict: .pass,
                seconds: seconds, reason: deviations.isEmpty ? nil : "listed deviation not observed")
        }
        if let deviation = deviations.first {
            return ConversationResult(
                name: conversation.name, title: conversation.title, tags: conversation.tags, verdict: .deviation,
                seconds: seconds, reason: deviation.reason, failure: failure)
        }
        return ConversationResult(
            name: conversation.name, title: conversation.title, tags: conversation.tags, verdict: .fail,
            seconds: seconds, reason: failure.message, failure: failure)
    }
}

extension Duration {
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
