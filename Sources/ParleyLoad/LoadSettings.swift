import ParleyClient
import ParleyCodec

/// How fast senders send.
public enum LoadPacing: Sendable, Hashable, CustomStringConvertible {
    /// Closed loop: each sender keeps at most this many messages in flight (sent, not yet delivered).
    case window(Int)
    /// Open loop: this many messages per second in total, spread evenly over the senders.
    case rate(Double)

    /// `window K` or `rate R/s`.
    public var description: String {
        switch self {
        case .window(let size): "window \(size)"
        case .rate(let rate): "rate \(Int(rate))/s"
        }
    }
}

/// A snapshot reported while a run is going.
public struct LoadProgress: Sendable, Hashable {
    /// Time since sending started.
    public var elapsed: Duration
    /// Messages sent so far.
    public var sent: Int
    /// Distinct deliveries so far.
    public var delivered: Int
    /// Deliveries expected in total, when known up front.
    public var expected: Int?
    /// Connection errors so far.
    public var connectionErrors: Int

    /// One status line, e.g. for a terminal.
    public var line: String {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Double(delivered) / seconds : 0
        let target = expected.map { "/\($0)" } ?? ""
        let tenths = (seconds * 10).rounded() / 10
        return "\(tenths)s  sent \(sent)  delivered \(delivered)\(target)  \(Int(rate))/s  errors \(connectionErrors)"
    }
}

/// Settings shared by the messaging scenarios (`ring`, `room`).
public struct LoadSettings: Sendable {
    /// The server.
    public var endpoint: StompEndpoint
    /// More nodes of the same service (e.g. chat nodes sharing a Kafka relay): clients are assigned
    /// round-robin over `[endpoint] + additionalEndpoints` (client 0 → `endpoint`, client 1 → the first of these, …).
    public var additionalEndpoints: [StompEndpoint] = []
    /// Destination dialect of the server.
    public var mapping: any LoadDestinationMapping
    /// Credentials per client.
    public var credentials: any LoadCredentialProvider
    /// Base client options (vhost, heart-beats, transport); credentials are filled in per client.
    public var clientOptions: StompClient.Options
    /// Sending pace.
    public var pacing: LoadPacing
    /// Messages per sender; nil sends until `duration` ends.
    public var messagesPerSender: Int?
    /// Stop sending after this long; nil sends `messagesPerSender`.
    public var duration: Duration?
    /// Hard stop for the whole run, setup included.
    public var timeout: Duration
    /// End the run when neither sends nor deliveries progressed for this long.
    public var stallTimeout: Duration
    /// Minimum payload size in bytes.
    public var payloadSize: Int
    /// Connections opened in parallel during setup.
    public var connectConcurrency: Int
    /// Credential look-ups in parallel during setup (account API sign-ups are bcrypt-bound).
    public var credentialConcurrency: Int
    /// Run id in destination names and payloads; random by default.
    public var runID: String
    /// Called about every `progressInterval` while messages flow.
    public var progress: (@Sendable (LoadProgress) -> Void)?
    /// Interval of `progress` calls.
    public var progressInterval: Duration

    /// Creates settings. Without `messagesPerSender` and `duration`, 100 messages per sender are sent.
    public init(
        endpoint: StompEndpoint,
        mapping: any LoadDestinationMapping,
        credentials: any LoadCredentialProvider = StaticCredentials(),
        clientOptions: StompClient.Options = StompClient.Options(),
        pacing: LoadPacing = .window(64),
        messagesPerSender: Int? = nil,
        duration: Duration? = nil,
        timeout: Duration = .seconds(120),
        stallTimeout: Duration = .seconds(5),
        payloadSize: Int = 0,
        connectConcurrency: Int = 32,
        credentialConcurrency: Int = 8,
        runID: String = LoadSettings.randomRunID(),
        progress: (@Sendable (LoadProgress) -> Void)? = nil,
        progressInterval: Duration = .seconds(1)
    ) {
        self.endpoint = endpoint
        self.mapping = mapping
        self.credentials = credentials
        self.clientOptions = clientOptions
        self.pacing = pacing
        self.messagesPerSender = messagesPerSender ?? (duration == nil ? 100 : nil)
        self.duration = duration
        self.timeout = timeout
        self.stallTimeout = stallTimeout
        self.payloadSize = payloadSize
        self.connectConcurrency = max(1, connectConcurrency)
        self.credentialConcurrency = max(1, credentialConcurrency)
        self.runID = runID
        self.progress = progress
        self.progressInterval = progressInterval
    }

    /// Every endpoint clients connect to, in assignment order.
    public var allEndpoints: [StompEndpoint] { [endpoint] + additionalEndpoints }

    /// The endpoint client `index` connects to (round-robin over ``allEndpoints``).
    public func endpoint(forClient index: Int) -> StompEndpoint {
        let endpoints = allEndpoints
        return endpoints[index % endpoints.count]
    }

    /// Six random lowercase letters and digits.
    public static func randomRunID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<6).map { _ in alphabet.randomElement()! })
    }
}

/// A run that could not start or was misconfigured.
public struct LoadError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
