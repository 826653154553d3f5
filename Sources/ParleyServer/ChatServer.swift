import Logging
import NIOCore
import NIOPosix
import ParleyBroker
import ParleyChat
import ServiceLifecycle
import Synchronization

/// The ports a started ``ChatServer`` listens on (useful when the configuration asked for port 0).
public struct ChatServerPorts: Sendable, Hashable {
    /// The WebSocket port, if that listener is enabled.
    public var webSocket: Int?
    /// The STOMP-over-TCP port, if that listener is enabled.
    public var tcp: Int?
}

/// The chat node: STOMP over WebSocket (`/ws/chat`) and over TCP, both feeding one ``StompBroker``.
///
/// Use it as a swift-service-lifecycle `Service` (``run()`` returns after graceful shutdown or
/// cancellation), or drive it by hand with ``start()`` and ``stop()``.
///
/// ```swift
/// let server = ChatServer(configuration: ChatServerConfiguration(authenticator: myAuthenticator))
/// let ports = try await server.start()   // relay started, listeners bound
/// …
/// await server.stop()                    // ERROR "server is shutting down" to sessions, relay shut down
/// ```
public final class ChatServer: Service, Sendable {
    /// The configuration the server was created with.
    public let configuration: ChatServerConfiguration
    /// The broker shared by both transports.
    public let broker: StompBroker
    /// The chat application behind `/app/chat.sendMessage`; the relay delivers to it.
    public let chat: ChatApplication
    private let logger: Logger
    private let group: any EventLoopGroup
    private let state = Mutex(RunState())
    private let trimmer = MemoryTrimmer()

    /// How many times memory freed by mass disconnects was handed back to the OS (`malloc_trim`).
    public var memoryTrims: Int { trimmer.trimCount }

    private struct RunState {
        var listeners: [any Channel] = []
        var connections: [ObjectIdentifier: any Channel] = [:]
        var ports: ChatServerPorts?
        var stopped = false
    }

    /// Creates a server; nothing is bound until ``start()`` or ``run()``.
    public init(configuration: ChatServerConfiguration, logger: Logger = Logger(label: "parley.chat")) {
        self.configuration = configuration
        self.logger = logger
        self.group = configuration.eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        self.chat = ChatApplication(relay: configuration.relay)
        self.broker = StompBroker(
            configuration: configuration.broker, authenticator: configuration.authenticator, applications: [chat])
    }

    /// The bound ports once started, else `nil`.
    public var ports: ChatServerPorts? { state.withLock { $0.ports } }

    /// Starts the relay and binds the enabled listeners; returns the bound ports.
    @discardableResult
    public func start() async throws -> ChatServerPorts {
        try await configuration.relay.start(deliveringTo: chat.sink(for: broker))
        var ports = ChatServerPorts()
        do {
            if let port = configuration.wsPort {
                let path = configuration.webSocketPath
                let maxFrameSize = configuration.maxWebSocketFrameSize
                let channel = try await bind(port: port) { [broker] channel in
                    try WebSocketTransport.configure(channel, broker: broker, path: path, maxFrameSize: maxFrameSize)
                }
                ports.webSocket = channel.localAddress?.port
            }
            if let port = configuration.tcpPort {
                let channel = try await bind(port: port) { [broker] channel in
                    try channel.pipeline.syncOperations.addHandler(broker.makeSessionHandler())
                }
                ports.tcp = channel.localAddress?.port
            }
        } catch {
            await stop()
            throw error
        }
        state.withLock { $0.ports = ports }
        logger.info(
            "chat server listening",
            metadata: [
                "host": "\(configuration.host)", "ws": "\(ports.webSocket.map(String.init) ?? "off")",
                "tcp": "\(ports.tcp.map(String.init) ?? "off")",
            ])
        return ports
    }

    /// Stops accepting, sends every session ERROR "server is shutting down", waits (up to the broker's
    /// close grace period) for connections to close, then shuts the relay down. Safe to call twice.
    public func stop() async {
        let listeners: [any Channel]? = state.withLock { state in
            guard !state.stopped else { return nil }
            state.stopped = true
            defer { state.listeners = [] }
            return state.listeners
        }
        guard let listeners else { return }
        for listener in listeners { try? await listener.close() }
        broker.closeAllSessions()
        let connections = state.withLock { Array($0.connections.values) }
        let grace = configuration.broker.closeGracePeriod + .milliseconds(500)
        let closed = EventLoopFuture.andAllComplete(connections.map(\.closeFuture), on: group.any())
        let timeout = group.any().scheduleTask(in: grace) {
            for connection in connections { connection.close(promise: nil) }
        }
        try? await closed.get()
        timeout.cancel()
        await configuration.relay.shutdown()
        logger.info("chat server stopped")
    }

    /// Runs until graceful shutdown or cancellation, then stops.
    public func run() async throws {
        try await start()
        let listeners = state.withLock { $0.listeners }
        await withTaskCancellationOrGracefulShutdownHandler {
            for listener in listeners { try? await listener.closeFuture.get() }
        } onCancelOrGracefulShutdown: {
            for listener in listeners { listener.close(promise: nil) }
        }
        await stop()
    }

    private func bind(
        port: Int, initializer: @escaping @Sendable (any Channel) throws -> Void
    ) async throws -> any Channel {
        let socketBuffer = min(configuration.broker.outboundBufferLimit, 256 * 1024)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            // NIO buffers little; past it sessions park whole frames themselves, so a slow consumer's ERROR is not
            // stuck behind megabytes (StompSessionHandler's backlog).
            .childChannelOption(.writeBufferWaterMark, value: .init(low: max(1, socketBuffer / 2), high: max(2, socketBuffer)))
            .childChannelInitializer { [self] channel in
                track(channel)
                return channel.eventLoop.makeCompletedFuture { try initializer(channel) }
            }
            .bind(host: configuration.host, port: port)
            .get()
        state.withLock { $0.listeners.append(channel) }
        return channel
    }

    private func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock { $0.connections[id] = channel }
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLock { $0.connections.removeValue(forKey: id) }
            trimmer.connectionClosed(on: channel.eventLoop)
        }
    }
}
