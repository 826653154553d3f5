import NIOCore
import ParleyClient

/// The original app's test: N clients in a ring, each sends M messages to the next client's inbox
/// (Parley: a 1:1 chat message to the next user; brokers: the next client's queue).
public struct RingScenario: Sendable {
    /// Shared settings (endpoint, mapping, credentials, pacing, bounds).
    public var settings: LoadSettings
    /// Clients in the ring (at least 2).
    public var clients: Int

    /// Creates the scenario.
    public init(settings: LoadSettings, clients: Int) {
        self.settings = settings
        self.clients = clients
    }

    /// Connects, subscribes every inbox, sends, waits for every delivery (or a bound), disconnects.
    /// - Throws: ``LoadError`` when setup fails (credentials, connect, subscribe) or the arguments are invalid.
    public func run() async throws -> LoadResult {
        guard clients >= 2 else { throw LoadError("ring needs at least 2 clients") }
        let mapping = settings.mapping
        let count = clients
        let topology = Topology(
            clientCount: count,
            senders: Array(0..<count),
            receiversPerMessage: 1,
            subscription: { mapping.inboxDestination(of: $0) },
            message: { payload, sender, all in
                mapping.directMessage(payload: payload, from: sender, to: all[(sender.index + 1) % count])
            },
            receiverIndex: { ($0 + 1) % count }
        )
        return try await MessagingRun(scenario: "ring", settings: settings, topology: topology).run()
    }
}

/// Fan-out: S senders publish to one room that R subscribers listen to; each message should reach all R.
public struct RoomScenario: Sendable {
    /// Shared settings.
    public var settings: LoadSettings
    /// Sending clients (they do not subscribe).
    public var senders: Int
    /// Subscribing clients.
    public var subscribers: Int
    /// Room id; defaults to `load-<run>`.
    public var room: String?

    /// Creates the scenario.
    public init(settings: LoadSettings, senders: Int, subscribers: Int, room: String? = nil) {
        self.settings = settings
        self.senders = senders
        self.subscribers = subscribers
        self.room = room
    }

    /// Runs the fan-out and returns the measurements.
    public func run() async throws -> LoadResult {
        guard senders >= 1, subscribers >= 1 else { throw LoadError("room needs at least 1 sender and 1 subscriber") }
        let mapping = settings.mapping
        let room = room ?? "load-\(settings.runID)"
        let runID = settings.runID
        let senderCount = senders
        let topology = Topology(
            clientCount: senders + subscribers,
            senders: Array(0..<senders),
            receiversPerMessage: subscribers,
            subscription: { $0.index >= senderCount ? mapping.roomDestination(room: room, runID: runID) : nil },
            message: { payload, sender, _ in mapping.roomMessage(payload: payload, room: room, from: sender) },
            receiverIndex: { _ in -1 }
        )
        return try await MessagingRun(scenario: "room", settings: settings, topology: topology).run()
    }
}

/// Connection storm and idle capacity: open N sessions (C at a time), hold them idle, report the connect rate,
/// failures, sessions lost during the hold and, given the server's PID, its memory per connection.
public struct ConnectScenario: Sendable {
    /// The server.
    public var endpoint: StompEndpoint
    /// Sessions to open.
    public var connections: Int
    /// Sessions being opened at the same time.
    public var concurrency: Int
    /// How long to hold all sessions idle.
    public var hold: Duration
    /// Credentials per session (looked up before the storm starts).
    public var credentials: any LoadCredentialProvider
    /// Base client options.
    public var clientOptions: StompClient.Options
    /// Server process to sample RSS of (same machine).
    public var serverPID: Int32?
    /// Hard stop for the whole run.
    public var timeout: Duration
    /// Run id passed to the credential provider.
    public var runID: String
    /// Credential look-ups in parallel.
    public var credentialConcurrency: Int

    /// Creates the scenario.
    public init(
        endpoint: StompEndpoint,
        connections: Int,
        concurrency: Int = 64,
        hold: Duration = .seconds(5),
        credentials: any LoadCredentialProvider = StaticCredentials(),
        clientOptions: StompClient.Options = StompClient.Options(),
        serverPID: Int32? = nil,
        timeout: Duration = .seconds(300),
        runID: String = LoadSettings.randomRunID(),
        credentialConcurrency: Int = 8
    ) {
        self.endpoint = endpoint
        self.connections = connections
        self.concurrency = concurrency
        self.hold = hold
        self.credentials = credentials
        self.clientOptions = clientOptions
        self.serverPID = serverPID
        self.timeout = timeout
        self.runID = runID
        self.credentialConcurrency = credentialConcurrency
    }

    /// Runs the storm, holds, disconnects and returns the measurements (in ``LoadResult/connect``).
    public func run() async throws -> LoadResult {
        guard connections >= 1 else { throw LoadError("connect needs at least 1 connection") }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        let credentials = try await boundedMap(0..<connections, concurrency: max(1, credentialConcurrency)) { index in
            try await self.credentials.credentials(forClient: index, runID: self.runID)
        }
        let rssBefore = serverPID.flatMap(ServerMemory.residentKiB(pid:))
        var clients: [StompClient] = []
        var errors: [String] = []
        var failed = 0
        var timedOut = false
        let stormStart = clock.now
        let endpoint = self.endpoint
        let clientOptions = self.clientOptions
        let results: [Result<StompClient, any Error>] = (try? await withDeadline(deadline) {
            try await boundedMap(0..<self.connections, concurrency: self.concurrency) { index in
                var options = clientOptions
                options.authenticate(with: credentials[index])
                do {
                    return .success(try await StompClient.connect(to: endpoint, options: options))
                } catch {
                    return .failure(error)
                }
            }
        }) ?? []
        if results.isEmpty { timedOut = true }
        for result in results {
            switch result {
            case .success(let client): clients.append(client)
            case .failure(let error):
                failed += 1
                if errors.count < 10 { errors.append(String(describing: error)) }
            }
        }
        let connectSeconds = Self.seconds(clock.now - stormStart)
        let holdStart = clock.now
        let holdEnd = min(holdStart + hold, deadline)
        if holdEnd > clock.now { try? await Task.sleep(until: holdEnd, clock: clock) }
        let holdSeconds = Self.seconds(clock.now - holdStart)
        let rssHeld = serverPID.flatMap(ServerMemory.residentKiB(pid:))
        let dropped = clients.filter { $0.endReason != nil }.count
        for client in clients where client.endReason != nil {
            if errors.count < 10 { errors.append("session ended during hold: \(client.endReason!)") }
        }
        await withTaskGroup(of: Void.self) { group in
            for client in clients { group.addTask { try? await client.disconnect(timeout: .seconds(2)) } }
        }
        var perConnection: Int?
        if let rssBefore, let rssHeld, !clients.isEmpty { perConnection = (rssHeld - rssBefore) * 1024 / clients.count }
        let summary = ConnectSummary(
            attempted: connections,
            established: clients.count,
            failed: failed,
            connectRate: connectSeconds > 0 ? Double(clients.count) / connectSeconds : 0,
            connectSeconds: connectSeconds,
            holdSeconds: holdSeconds,
            droppedDuringHold: dropped,
            serverRSSBeforeKiB: rssBefore,
            serverRSSHeldKiB: rssHeld,
            serverBytesPerConnection: perConnection
        )
        return LoadResult(
            scenario: "connect", target: endpoint.description, mapping: "-", runID: runID, clients: connections,
            senders: 0, receivers: 0, pacing: "concurrency \(concurrency)", sent: 0, expected: 0, delivered: 0, lost: 0,
            duplicates: 0, outOfOrder: 0, connectionErrors: failed + dropped, errors: errors, elapsedSeconds: connectSeconds,
            deliveredPerSecond: 0, sentPerSecond: 0, latency: .empty, timedOut: timedOut, connect: summary
        )
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
