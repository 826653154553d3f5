import ArgumentParser
import Foundation
import ParleyConformance
import ParleyProfiles

/// `parley conformance`: replay the conversation fixtures against a STOMP server and judge it.
struct ConformanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Replay scripted STOMP conversations against a server and report a verdict per rule.",
        subcommands: [ConformanceRunCommand.self, ConformanceListCommand.self],
        defaultSubcommand: ConformanceListCommand.self
    )
}

/// Where the kit's files are: `--kit-dir`, `PARLEY_KIT_DIR`, or the nearest folder (cwd upwards) holding them.
struct KitLocation: ParsableArguments {
    @Option(name: .long, help: "Folder holding conformance/profiles and Fixtures (default: found from the current directory).")
    var kitDir: String?

    @Option(name: .long, help: "Profiles folder (default: KIT/conformance/profiles).")
    var profilesDir: String?

    @Option(name: .long, help: "Fixtures folder holding conversations/ and frames/ (default: KIT/Fixtures).")
    var fixturesDir: String?

    func kitRoot() throws -> URL {
        if let kitDir { return URL(fileURLWithPath: kitDir) }
        if let env = ProcessInfo.processInfo.environment["PARLEY_KIT_DIR"] { return URL(fileURLWithPath: env) }
        var directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for _ in 0..<8 {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Fixtures/conversations").path) {
                return directory
            }
            directory.deleteLastPathComponent()
        }
        throw ValidationError(
            "cannot find Fixtures/conversations from \(FileManager.default.currentDirectoryPath); pass --kit-dir or set PARLEY_KIT_DIR")
    }

    func profilesDirectory() throws -> URL {
        if let profilesDir { return URL(fileURLWithPath: profilesDir) }
        return try kitRoot().appendingPathComponent("conformance/profiles")
    }

    func fixturesDirectory() throws -> URL {
        if let fixturesDir { return URL(fileURLWithPath: fixturesDir) }
        return try kitRoot().appendingPathComponent("Fixtures")
    }

    func conversations() throws -> [Conversation] {
        let directory = try fixturesDirectory().appendingPathComponent("conversations")
        do {
            return try ConversationParser.loadAll(in: directory)
        } catch {
            throw ValidationError("invalid conversation fixture: \(error)")
        }
    }
}

/// `parley conformance run`.
struct ConformanceRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the applicable conversations against a server; exit 1 if any fails."
    )

    @Option(name: .long, help: "Server profile: a name in the profiles folder (parley, spring, rabbitmq, activemq) or a YAML path.")
    var profile: String

    @Option(name: .long, help: "STOMP URL: tcp://host:port or ws://host:port/path (default: the profile's first URL).")
    var url: String?

    @Option(name: .long, parsing: .upToNextOption, help: "Run only conversations carrying one of these tags.")
    var tags: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: "Run only these conversations, by name.")
    var conversation: [String] = []

    @Option(name: .long, help: "Write JUnit XML here.")
    var junit: String?

    @Option(name: .long, help: "Write the JSON report here.")
    var json: String?

    @Option(name: .long, help: "Account API base URL for bearer profiles (default: the profile's).")
    var accountURL: String?

    @Option(name: .long, help: "Environment variable holding the server's JWT secret (enables expired-token checks; default: the profile's secret_env).")
    var jwtSecretEnv: String?

    @Option(name: .long, help: "Conversations run at the same time.")
    var concurrency: Int = 4

    @Option(name: .long, help: "Multiply every wait for an expected frame or close by this factor, for slow or loaded servers (default: PARLEY_CONFORMANCE_TIME_SCALE or 1).")
    var timeScale: Double?

    @Flag(name: .long, help: "Print only the summary table, not a line per conversation.")
    var quiet = false

    @OptionGroup var kit: KitLocation

    func validate() throws {
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be 1...64") }
        if let timeScale, !(timeScale > 0 && timeScale <= 100) { throw ValidationError("--time-scale must be > 0 and ≤ 100") }
        if let accountURL, URL(string: accountURL)?.scheme == nil {
            throw ValidationError("--account-url '\(accountURL)' is not an http:// URL")
        }
    }

    func run() async throws {
        let profile: ServerProfile
        do {
            profile = try ServerProfile.load(named: self.profile, in: try kit.profilesDirectory())
        } catch let error as ProfileError {
            throw ValidationError("profile \(error)")
        }
        guard let url = url ?? profile.connection.url(for: .websocket) ?? profile.connection.url(for: .tcp) else {
            throw ValidationError("profile \(profile.name) names no URL; pass --url")
        }
        let conversations = try kit.conversations()
        let known = Set(conversations.map(\.name))
        if let unknown = conversation.first(where: { !known.contains($0) }) {
            throw ValidationError("no conversation named '\(unknown)'; see `parley conformance list`")
        }
        let secretVariable = jwtSecretEnv ?? profile.auth.tokenMinting?.secretEnv
        let secret = secretVariable.flatMap { ProcessInfo.processInfo.environment[$0] }.map { Array($0.utf8) }
        let configuration = ConformanceRunner.Configuration(
            profile: profile, url: url, accountURL: accountURL.flatMap(URL.init(string:)),
            tagFilter: tags.isEmpty ? nil : Set(tags), nameFilter: conversation.isEmpty ? nil : Set(conversation),
            jwtSecret: secret, fixturesDirectory: try kit.fixturesDirectory(), concurrency: concurrency,
            timeScale: timeScale ?? ConformanceRunner.Configuration.environmentTimeScale ?? 1)
        let runner: ConformanceRunner
        do {
            runner = try ConformanceRunner(configuration: configuration)
        } catch {
            throw ValidationError("\(error)")
        }
        print("parley conformance: profile \(profile.name), \(runner.transport.rawValue) \(url), run \(configuration.runID)")
        let quiet = self.quiet
        let report = await runner.run(conversations) { result in
            guard !quiet else { return }
            print(Self.liveLine(result))
            if result.verdict == .fail, let failure = result.failure {
                print(failure.text.split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }.joined(separator: "\n"))
            }
        }
        print("")
        print(report.summaryTable())
        if let junit {
            try write(JUnitReport.xml(for: [report]), to: junit)
        }
        if let json {
            try write(String(decoding: try report.jsonData(), as: UTF8.self), to: json)
        }
        if !report.succeeded { throw ExitCode(1) }
    }

    static func liveLine(_ result: ConversationResult) -> String {
        let mark: String
        switch result.verdict {
        case .pass: mark = "PASS     "
        case .fail: mark = "FAIL     "
        case .deviation: mark = "DEVIATION"
        case .skipped: mark = "skip     "
        }
        let time = result.verdict == .skipped ? "" : String(format: " (%.2fs)", result.seconds)
        let note = result.verdict == .pass ? "" : " — " + (result.reason?.split(separator: "\n").first.map(String.init) ?? "")
        return "\(mark) \(result.name)\(time)\(note)"
    }

    private func write(_ text: String, to path: String) throws {
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationError("cannot write \(path): \(error.localizedDescription)")
        }
    }
}

/// `parley conformance list`.
struct ConformanceListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the conversations, their tags, and which profiles they apply to."
    )

    @OptionGroup var kit: KitLocation

    func run() async throws {
        let conversations = try kit.conversations()
        let profiles: [ServerProfile]
        do {
            profiles = try ServerProfile.loadAll(in: try kit.profilesDirectory())
        } catch {
            throw ValidationError("profile \(error)")
        }
        let nameWidth = conversations.map(\.name.count).max() ?? 20
        let header = "conversation".padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
            + profiles.map { $0.name.padding(toLength: 9, withPad: " ", startingAt: 0) }.joined(separator: " ") + "  tags"
        print(header)
        for conversation in conversations {
            var cells: [String] = []
            for profile in profiles {
                let missing = conversation.tags.filter { !profile.capabilities.contains($0) && $0 != "token-minting" }
                let cell: String
                if !missing.isEmpty {
                    cell = "-"
                } else if !profile.deviations.filter({ $0.conversation == conversation.name }).isEmpty {
                    cell = "deviation"
                } else {
                    cell = "yes"
                }
                cells.append(cell.padding(toLength: 9, withPad: " ", startingAt: 0))
            }
            print(
                conversation.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  " + cells.joined(separator: " ")
                    + "  " + conversation.tags.joined(separator: ","))
        }
        print("\n\(conversations.count) conversations; yes = applies, deviation = applies with a documented deviation, - = skipped (capability missing)")
    }
}
