import ParleyClient
import ParleyCodec
import ParleyProfiles

/// The byte-level connection a conversation client drives: frames and raw bytes out; inbound goes to an `Inbox`.
protocol ConformanceWire: Sendable {
    func send(_ frame: StompFrame) async throws
    func sendRaw(_ bytes: [UInt8]) async throws
    func setVersion(_ version: StompVersion) async
    func close() async
}

/// The server address of a run, parsed once from the `--url`.
struct ConformanceEndpoint: Sendable {
    let endpoint: StompEndpoint
    let transport: TransportKind

    init(url: String) throws(ConformanceSetupError) {
        do {
            endpoint = try StompEndpoint(url: url)
        } catch {
            throw ConformanceSetupError("\(error)")
        }
        switch endpoint.transport {
        case .tcp: transport = .tcp
        case .webSocket: transport = .websocket
        }
    }

    /// The URL's host, the default `host` header.
    var host: String { endpoint.host }

    /// Opens a `StompConnection` and starts copying its inbound stream into `inbox`.
    func open(profile: ServerProfile, inbox: Inbox, timeout: Double) async throws -> any ConformanceWire {
        let configuration = StompConnection.Configuration(
            // Generous limits: the kit must see whatever the server sends, oversized or not.
            limits: StompLimits(maxFrameSize: 64 << 20, maxBodySize: 64 << 20, maxHeaderCount: 4096),
            webSocketSubprotocols: profile.connection.websocketSubprotocols,
            // Opening the socket is not what a conversation checks; a loaded CI machine may take seconds to
            // accept, so this never uses the (short) expectation timeout.
            connectTimeout: .milliseconds(Int(max(timeout, 15) * 1000)),
            // The script controls versions: it switches after CONNECTED itself.
            followNegotiatedVersion: true)
        let connection = try await StompConnection.connect(to: endpoint, configuration: configuration)
        let reader = Task {
            do {
                for try await item in connection.inbound {
                    switch item {
                    case .frame(let frame): await inbox.append(.frame(frame))
                    case .heartBeat: await inbox.append(.heartBeat)
                    }
                }
                await inbox.append(.closed("closed by the server"))
            } catch {
                await inbox.append(.closed("stream ended: \(error)"))
            }
        }
        return ConnectionWire(connection: connection, reader: reader, inbox: inbox)
    }
}

/// `ConformanceWire` over ParleyClient's low-level `StompConnection`.
struct ConnectionWire: ConformanceWire {
    let connection: StompConnection
    let reader: Task<Void, Never>
    let inbox: Inbox

    func send(_ frame: StompFrame) async throws { try await connection.send(frame) }
    func sendRaw(_ bytes: [UInt8]) async throws { try await connection.sendRaw(bytes) }
    func setVersion(_ version: StompVersion) async { connection.setProtocolVersion(version) }
    func close() async {
        // Recorded first so the inbox says who closed; the reader's later "closed by the server" is ignored.
        await inbox.append(.closed("closed by this client"))
        await connection.close()
    }
}
