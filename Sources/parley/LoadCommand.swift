import ArgumentParser
import Foundation
import ParleyClient
import ParleyCodec
import ParleyLoad
import ParleyProfiles

#if canImport(Glibc)
import Glibc
#endif

/// `parley load`: drive a STOMP server with many clients and measure delivery, loss and latency.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "STOMP load generator: ring, room fan-out and connection-storm scenarios.",
        discussion: """
            Exit status: 0 when the run completed and every threshold passed, 1 when the run could not be \
            performed (bad URL, setup failure), 2 when a threshold (--max-p99, --min-rate, --no-loss) failed.
            Only the hosts given with --url and --account-url are contacted.
            """,
        subcommands: [Ring.self, Room.self, Connect.self]
    )
}

/// Built-in server dialects, used when no profile file is found.
enum BuiltInProfile: String, CaseIterable {
    /// Parley / Spring: `/app/chat.sendMessage`, `/user/queue/messages`, `/topic/rooms.*`; tokens from the account API.
    case parley
    /// RabbitMQ: per-client `/queue/…`, room `/topic/…`, guest/guest on vhost `/`.
    case rabbitmq
    /// ActiveMQ: like rabbitmq, admin/admin.
    case activemq
    /// Any broker with `/queue/` and `/topic/`; credentials only from --login/--passcode.
    case queues
}

/// Where to connect and as whom.
struct LoadTargetOptions: ParsableArguments {
    @Option(help: "STOMP endpoint: ws://host:port/path, tcp://host:port or stomp://host:port (default: the profile's WebSocket URL).")
    var url: String?

    /// `--target`, the old name of `--url`, still accepted so existing scripts keep working; not in `--help`.
    @Option(name: .customLong("target"), help: .hidden)
    var deprecatedTarget: String?

    @Option(help: """
        Server profile: a YAML file, a name in --profiles-dir (parley, rabbitmq, activemq), or the built-in \
        parley, rabbitmq, activemq, queues.
        """)
    var profile: String = "parley"

    @Option(help: "Directory of profile YAML files.")
    var profilesDir: String = "conformance/profiles"

    @Option(help: "Parley account API for sign-up/login tokens (bearer profiles without --login).")
    var accountURL: String?

    @Option(help: "STOMP login (instead of the profile's credentials).")
    var login: String?

    @Option(help: "STOMP passcode.")
    var passcode: String?

    @Option(help: "CONNECT host header (virtual host); default from the profile, else the --url host.")
    var vhost: String?

    @Option(help: "Client heart-beat wish 'send,receive' in ms.")
    var heartBeat: String = "0,0"

    @Option(help: "Hard stop for the whole run, seconds.")
    var timeout: Double = 120

    /// The profile file, when one matches --profile.
    func profileFile() throws -> ServerProfile? {
        let fileManager = FileManager.default
        let candidates = [profile, "\(profilesDir)/\(profile).yaml", "\(profilesDir)/\(profile).yml"]
        guard let path = candidates.first(where: { $0.contains(".y") && fileManager.fileExists(atPath: $0) }) else {
            return nil
        }
        do {
            return try ServerProfile.load(file: URL(fileURLWithPath: path))
        } catch {
            throw ValidationError("cannot load profile \(path): \(error)")
        }
    }

    func builtIn() throws -> BuiltInProfile {
        guard let builtIn = BuiltInProfile(rawValue: profile) else {
            throw ValidationError(
                "unknown profile '\(profile)': not a YAML file, not in \(profilesDir), not one of \(BuiltInProfile.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return builtIn
    }

    func endpoint(_ loaded: ServerProfile?) throws -> StompEndpoint {
        let url = self.url ?? deprecatedTarget ?? loaded.flatMap { $0.connection.url(for: .websocket) ?? $0.connection.url(for: .tcp) }
            ?? "ws://127.0.0.1:8084/ws/chat"
        do { return try StompEndpoint(url: url) } catch { throw ValidationError(error.description) }
    }

    func clientOptions(_ loaded: ServerProfile?) throws -> StompClient.Options {
        guard let heartBeat = StompHeartBeat(header: heartBeat) else {
            throw ValidationError("--heart-beat must look like 10000,10000")
        }
        var options = loaded.map { StompClient.Options(profile: $0) } ?? StompClient.Options()
        options.heartBeat = heartBeat
        if let vhost { options.host = vhost } else if loaded == nil, try builtIn() == .rabbitmq { options.host = "/" }
        return options
    }

    func mapping(_ loaded: ServerProfile?) throws -> any LoadDestinationMapping {
        if let loaded { return ProfileDestinationMapping(profile: loaded) }
        return try builtIn() == .parley ? ParleyChatMapping() : BrokerQueueMapping()
    }

    /// --account-url as a URL; nil when not given (the profile's default applies).
    func accountBaseURL() throws -> URL? {
        guard let accountURL else { return nil }
        guard let url = URL(string: accountURL) else { throw ValidationError("--account-url '\(accountURL)' is not a URL") }
        return url
    }

    func credentials(_ loaded: ServerProfile?, runID: String) throws -> any LoadCredentialProvider {
        if login != nil || passcode != nil {
            return StaticCredentials(.login(login, passcode: passcode))
        }
        let auth: AuthSettings
        if let loaded {
            auth = loaded.auth
        } else {
            switch try builtIn() {
            case .parley: auth = .parley
            case .rabbitmq: return StaticCredentials(.login("guest", passcode: "guest"))
            case .activemq: return StaticCredentials(.login("admin", passcode: "admin"))
            case .queues: return StaticCredentials()
            }
        }
        let accountURL = try accountBaseURL()
        do {
            return try CredentialProvider(auth: auth, accountURL: accountURL, runID: runID)
        } catch {
            throw ValidationError("\(loaded.map { "profile \($0.name): " } ?? "")\(error)")
        }
    }

    var timeoutDuration: Duration { .milliseconds(Int64(timeout * 1000)) }

    func validate() throws {
        if url != nil && deprecatedTarget != nil { throw ValidationError("--target is the old name of --url: give only --url") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        let loaded = try profileFile()
        if loaded == nil { _ = try builtIn() }
        _ = try endpoint(loaded)
    }
}

/// How much, how fast.
struct TrafficOptions: ParsableArguments {
    @Option(help: "Messages per sender (default 100 unless --duration is given).")
    var messages: Int?

    @Option(help: "Send for this many seconds.")
    var duration: Double?

    @Option(help: "Open loop: total messages per second across all senders.")
    var rate: Double?

    @Option(help: "Closed loop: messages in flight per sender (default 64).")
    var window: Int?

    @Option(help: "Minimum message payload in bytes.")
    var size: Int = 0

    @Option(help: "Stop when nothing was sent or delivered for this many seconds.")
    var stallTimeout: Double = 5

    func validate() throws {
        if rate != nil && window != nil { throw ValidationError("--rate and --window exclude each other") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
        if let window, window < 1 { throw ValidationError("--window must be at least 1") }
        if let messages, messages < 1 { throw ValidationError("--messages must be at least 1") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        if size < 0 || size > 16 << 20 { throw ValidationError("--size must be between 0 and 16 MiB") }
        if stallTimeout <= 0 { throw ValidationError("--stall-timeout must be positive") }
    }

    func settings(_ target: LoadTargetOptions, output: LoadOutputOptions) throws -> LoadSettings {
        let loaded = try target.profileFile()
        let runID = LoadSettings.randomRunID()
        return LoadSettings(
            endpoint: try target.endpoint(loaded),
            mapping: try target.mapping(loaded),
            credentials: try target.credentials(loaded, runID: runID),
            clientOptions: try target.clientOptions(loaded),
            pacing: rate.map { .rate($0) } ?? .window(window ?? 64),
            messagesPerSender: messages,
            duration: duration.map { .milliseconds(Int64($0 * 1000)) },
            timeout: target.timeoutDuration,
            stallTimeout: .milliseconds(Int64(stallTimeout * 1000)),
            payloadSize: size,
            runID: runID,
            progress: output.progressReporter()
        )
    }
}

/// Reports and pass/fail thresholds.
struct LoadOutputOptions: ParsableArguments {
    @Option(help: "Also write the result as JSON to this file.")
    var json: String?

    @Option(help: "Fail (exit 2) when p99 latency exceeds this many milliseconds.")
    var maxP99: Double?

    @Option(help: "Fail (exit 2) when delivered/s (connect: sessions/s) is below this.")
    var minRate: Double?

    @Flag(help: "Fail (exit 2) on any lost or duplicated message, connection error or timeout.")
    var noLoss = false

    @Flag(help: "No live progress line even on a terminal.")
    var quiet = false

    var thresholds: LoadThresholds {
        LoadThresholds(maxP99Milliseconds: maxP99, minRate: minRate, noLoss: noLoss)
    }

    /// A progress line on stderr, only when stderr is a terminal.
    func progressReporter() -> (@Sendable (LoadProgress) -> Void)? {
        guard !quiet, isatty(STDERR_FILENO) == 1 else { return nil }
        return { progress in
            FileHandle.standardError.write(Data("\r\u{1B}[2K\(progress.line)".utf8))
        }
    }

    /// Prints the summary, writes JSON, checks thresholds.
    func finish(_ result: LoadResult) throws {
        if !quiet, isatty(STDERR_FILENO) == 1 { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        print(result.summaryTable)
        if let json {
            do {
                try result.jsonData().write(to: URL(fileURLWithPath: json))
            } catch {
                throw CLIError("cannot write \(json): \(error.localizedDescription)")
            }
        }
        let failures = thresholds.failures(of: result)
        guard failures.isEmpty else {
            for failure in failures { FileHandle.standardError.write(Data("threshold failed: \(failure)\n".utf8)) }
            throw ExitCode(2)
        }
    }
}

/// Runs a scenario, turning setup errors into a message and exit status 1.
func runLoad(_ body: () async throws -> LoadResult, output: LoadOutputOptions) async throws {
    raiseFileDescriptorLimit()
    let result: LoadResult
    do {
        result = try await body()
    } catch {
        throw fail("load run failed: \(error)")
    }
    try output.finish(result)
}

/// Many connections need many descriptors: lift the soft limit to the hard one.
func raiseFileDescriptorLimit() {
    #if canImport(Glibc)
    var limit = rlimit()
    if getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0, limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(RLIMIT_NOFILE_VALUE, &limit)
    }
    #endif
}

#if canImport(Glibc)
// RLIMIT_NOFILE is an enum constant in Glibc's Swift overlay; this keeps the call sites tidy.
private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#endif

extension LoadCommand {
    /// `parley load ring`.
    struct Ring: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "N clients in a ring; each sends M messages to the next client's inbox.")

        @OptionGroup var target: LoadTargetOptions
        @OptionGroup var traffic: TrafficOptions
        @OptionGroup var output: LoadOutputOptions

        @Option(help: "Clients in the ring.")
        var clients: Int = 100

        func validate() throws {
            if clients < 2 { throw ValidationError("--clients must be at least 2") }
        }

        func run() async throws {
            let settings = try traffic.settings(target, output: output)
            try await runLoad({ try await RingScenario(settings: settings, clients: clients).run() }, output: output)
        }
    }

    /// `parley load room`.
    struct Room: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fan-out: S senders publish to one room with R subscribers.")

        @OptionGroup var target: LoadTargetOptions
        @OptionGroup var traffic: TrafficOptions
        @OptionGroup var output: LoadOutputOptions

        @Option(help: "Sending clients.")
        var senders: Int = 1

        @Option(help: "Subscribing clients.")
        var subscribers: Int = 10

        @Option(help: "Room id (default load-<run>).")
        var room: String?

        func validate() throws {
            if senders < 1 { throw ValidationError("--senders must be at least 1") }
            if subscribers < 1 { throw ValidationError("--subscribers must be at least 1") }
        }

        func run() async throws {
            let settings = try traffic.settings(target, output: output)
            try await runLoad({
                try await RoomScenario(settings: settings, senders: senders, subscribers: subscribers, room: room).run()
            }, output: output)
        }
    }

    /// `parley load connect`.
    struct Connect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Connection storm and idle capacity: open N sessions, hold them, report rate and memory.")

        @OptionGroup var target: LoadTargetOptions
        @OptionGroup var output: LoadOutputOptions

        @Option(help: "Sessions to open.")
        var connections: Int = 100

        @Option(help: "Sessions opened at the same time.")
        var concurrency: Int = 64

        @Option(help: "Seconds to hold all sessions idle.")
        var hold: Double = 5

        @Option(help: "PID of the server (same machine) to report its RSS per connection.")
        var serverPID: Int32?

        func validate() throws {
            if connections < 1 { throw ValidationError("--connections must be at least 1") }
            if concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
            if hold < 0 { throw ValidationError("--hold must not be negative") }
        }

        func run() async throws {
            let loaded = try target.profileFile()
            let runID = LoadSettings.randomRunID()
            let scenario = ConnectScenario(
                endpoint: try target.endpoint(loaded),
                connections: connections,
                concurrency: concurrency,
                hold: .milliseconds(Int64(hold * 1000)),
                credentials: try target.credentials(loaded, runID: runID),
                clientOptions: try target.clientOptions(loaded),
                serverPID: serverPID,
                timeout: target.timeoutDuration,
                runID: runID
            )
            try await runLoad({ try await scenario.run() }, output: output)
        }
    }
}
