import NIOCore
import ParleyBroker
import ParleyRelay

/// Everything a ``ChatServer`` needs: where to listen, broker limits, the relay and the authenticator.
public struct ChatServerConfiguration: Sendable {
    /// The address both listeners bind to.
    public var host: String
    /// The WebSocket port (STOMP over WebSocket at ``webSocketPath``); `0` picks a free port, `nil` disables.
    public var wsPort: Int?
    /// The plain STOMP-over-TCP port; `0` picks a free port, `nil` disables.
    public var tcpPort: Int?
    /// The HTTP path of the WebSocket endpoint.
    public var webSocketPath: String
    /// Session limits, heart-beats, the outbound buffer limit and other broker settings.
    public var broker: BrokerConfiguration
    /// Where `/app/chat.sendMessage` events are relayed; the server starts and shuts it down.
    public var relay: any ChatRelay
    /// Verifies the access token of every CONNECT.
    public var authenticator: any StompAuthenticator
    /// The event loops to run on; `nil` uses `MultiThreadedEventLoopGroup.singleton`.
    public var eventLoopGroup: (any EventLoopGroup)?
    /// Largest single WebSocket frame accepted (a STOMP frame may still span several).
    public var maxWebSocketFrameSize: Int
    /// Listen backlog of both listeners.
    public var backlog: Int32

    /// Creates a configuration. Only the authenticator is required; the relay defaults to an in-process one.
    public init(
        host: String = "0.0.0.0",
        wsPort: Int? = 8084,
        tcpPort: Int? = 61613,
        webSocketPath: String = "/ws/chat",
        broker: BrokerConfiguration = BrokerConfiguration(),
        relay: any ChatRelay = InProcessRelay(),
        authenticator: any StompAuthenticator,
        eventLoopGroup: (any EventLoopGroup)? = nil,
        maxWebSocketFrameSize: Int = 1 << 20,
        backlog: Int32 = 4096
    ) {
        self.host = host
        self.wsPort = wsPort
        self.tcpPort = tcpPort
        self.webSocketPath = webSocketPath
        self.broker = broker
        self.relay = relay
        self.authenticator = authenticator
        self.eventLoopGroup = eventLoopGroup
        self.maxWebSocketFrameSize = maxWebSocketFrameSize
        self.backlog = backlog
    }
}
