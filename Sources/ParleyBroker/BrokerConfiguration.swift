import NIOCore
import ParleyCodec

/// Limits and timings of the STOMP broker; the defaults suit a chat server.
public struct BrokerConfiguration: Sendable, Hashable {
    /// The `server` header of CONNECTED.
    public var serverName: String
    /// Protocol versions offered, in any order; negotiation picks the highest common one.
    public var supportedVersions: [StompVersion]
    /// Heart-beats the server can send and wants to receive (ms); `0` disables a direction.
    public var heartBeat: StompHeartBeat
    /// A client silent for longer than `tolerance × negotiated incoming interval` is disconnected.
    public var heartBeatTolerance: Double
    /// Decoder limits before authentication: only a CONNECT frame of modest size is accepted.
    public var preAuthLimits: StompLimits
    /// Decoder limits once the session is authenticated.
    public var limits: StompLimits
    /// How long a new connection may take to send CONNECT and be authenticated.
    public var connectTimeout: TimeAmount
    /// Bytes a session may have written but not yet handed to the socket before it counts as a slow consumer.
    public var outboundBufferLimit: Int
    /// How long to wait for an ERROR (or a DISCONNECT's RECEIPT) to be written before closing anyway.
    public var closeGracePeriod: TimeAmount
    /// Subscriptions one session may hold.
    public var maxSubscriptionsPerSession: Int
    /// Unacknowledged messages one session may hold before it counts as a slow consumer.
    public var maxUnackedMessagesPerSession: Int
    /// Frames one transaction may buffer until COMMIT.
    public var maxFramesPerTransaction: Int
    /// Transactions one session may have open at once.
    public var maxOpenTransactions: Int
    /// Bytes one session may hold: frames written but not yet on the socket, unacknowledged messages, frames
    /// buffered in open transactions and an unfinished inbound frame, together. Past it: ERROR naming the limit,
    /// then close.
    public var sessionMemoryBudget: Int
    /// Bytes all sessions of this node may hold together (same accounting); the session whose growth passes it
    /// gets ERROR and is closed, so the node never runs out of memory because of its clients.
    public var nodeMemoryBudget: Int
    /// How long a frame may take to arrive once its first byte did (a client dribbling a frame is cut off).
    public var frameCompletionTimeout: TimeAmount
    /// Whether clients may SEND straight to `/topic/...`. Off by default, as Spring Security's recommended
    /// message-broker configuration has it: messages go through an application (`/app/...`), which checks the
    /// sender. When on, topics an application publishes to (chat rooms) stay refused.
    public var allowClientTopicSends: Bool

    /// Creates a configuration; every parameter has a chat-server default.
    public init(
        serverName: String = "Parley/\(ParleyBrokerVersion.current)",
        supportedVersions: [StompVersion] = StompVersion.allCases,
        heartBeat: StompHeartBeat = StompHeartBeat(send: 10_000, receive: 10_000),
        heartBeatTolerance: Double = 2.0,
        preAuthLimits: StompLimits = StompLimits(
            maxFrameSize: 16 * 1024, maxBodySize: 0, maxHeaderCount: 16, maxHeaderLineLength: 8 * 1024, maxCommandLength: 16),
        limits: StompLimits = .default,
        connectTimeout: TimeAmount = .seconds(10),
        outboundBufferLimit: Int = 4 * 1024 * 1024,
        closeGracePeriod: TimeAmount = .seconds(2),
        maxSubscriptionsPerSession: Int = 1024,
        maxUnackedMessagesPerSession: Int = 10_000,
        maxFramesPerTransaction: Int = 1024,
        maxOpenTransactions: Int = 16,
        sessionMemoryBudget: Int = 16 << 20,
        nodeMemoryBudget: Int = 1 << 30,
        frameCompletionTimeout: TimeAmount = .seconds(30),
        allowClientTopicSends: Bool = false
    ) {
        self.serverName = serverName
        self.supportedVersions = supportedVersions
        self.heartBeat = heartBeat
        self.heartBeatTolerance = heartBeatTolerance
        self.preAuthLimits = preAuthLimits
        self.limits = limits
        self.connectTimeout = connectTimeout
        self.outboundBufferLimit = outboundBufferLimit
        self.closeGracePeriod = closeGracePeriod
        self.maxSubscriptionsPerSession = maxSubscriptionsPerSession
        self.maxUnackedMessagesPerSession = maxUnackedMessagesPerSession
        self.maxFramesPerTransaction = maxFramesPerTransaction
        self.maxOpenTransactions = maxOpenTransactions
        self.sessionMemoryBudget = sessionMemoryBudget
        self.nodeMemoryBudget = nodeMemoryBudget
        self.frameCompletionTimeout = frameCompletionTimeout
        self.allowClientTopicSends = allowClientTopicSends
    }
}

/// The broker's version, reported as `server: Parley/<version>`.
public enum ParleyBrokerVersion {
    /// The current version string.
    public static let current = "0.1.0"
}
