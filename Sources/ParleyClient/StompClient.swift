import NIOCore
import ParleyCodec
import Synchronization

/// An async STOMP 1.0–1.2 client session over TCP or WebSocket: CONNECT, subscriptions as AsyncSequences,
/// SEND with optional RECEIPT await, ACK/NACK, heart-beats both ways, clean DISCONNECT.
///
/// One reader task routes inbound frames: MESSAGE to its subscription (by `subscription` header), RECEIPT to its
/// waiter, ERROR ends the session. MESSAGEs for `onMessage` subscriptions skip it: they are handled on the
/// connection's event loop as they are decoded. Subscription buffers are bounded; a full buffer pauses reading the
/// socket (so one subscription that is never consumed eventually stalls the others: consume or unsubscribe).
/// End every session with ``disconnect(timeout:)`` or ``close()``: the reader and heart-beat tasks keep a
/// session that is merely dropped alive until the server closes it.
public final class StompClient: Sendable {
    /// What to put in CONNECT and how the session behaves.
    public struct Options: Sendable {
        /// The `host` header (the virtual host; RabbitMQ wants `/`). Nil sends the endpoint's host name.
        public var host: String?
        /// The `login` header.
        public var login: String?
        /// The `passcode` header.
        public var passcode: String?
        /// Sent as `Authorization: Bearer <token>`.
        public var bearerToken: String?
        /// Versions offered in `accept-version`.
        public var acceptVersions: [StompVersion]
        /// Our heart-beat wish: `send` = how often we can send, `receive` = how often we want to hear (ms).
        public var heartBeat: StompHeartBeat
        /// Silence tolerated before the session is declared dead, as a multiple of the incoming interval.
        public var heartBeatTolerance: Double
        /// Extra CONNECT headers (added after the ones above).
        public var headers: StompHeaders
        /// Send `STOMP` instead of `CONNECT` as the command.
        public var useStompCommand: Bool
        /// Bound on waiting for CONNECTED.
        public var connectTimeout: Duration
        /// Bound on waiting for each RECEIPT.
        public var receiptTimeout: Duration
        /// MESSAGE frames buffered per subscription before reading pauses.
        public var subscriptionBufferSize: Int
        /// Transport options.
        public var connection: StompConnection.Configuration

        /// Creates options; every parameter has a default (guest access, no heart-beats, all versions).
        public init(
            host: String? = nil,
            login: String? = nil,
            passcode: String? = nil,
            bearerToken: String? = nil,
            acceptVersions: [StompVersion] = [.v1_0, .v1_1, .v1_2],
            heartBeat: StompHeartBeat = StompHeartBeat(send: 0, receive: 0),
            heartBeatTolerance: Double = 2.0,
            headers: StompHeaders = [:],
            useStompCommand: Bool = false,
            connectTimeout: Duration = .seconds(10),
            receiptTimeout: Duration = .seconds(10),
            subscriptionBufferSize: Int = 4096,
            connection: StompConnection.Configuration = StompConnection.Configuration()
        ) {
            self.host = host
            self.login = login
            self.passcode = passcode
            self.bearerToken = bearerToken
            self.acceptVersions = acceptVersions
            self.heartBeat = heartBeat
            self.heartBeatTolerance = heartBeatTolerance
            self.headers = headers
            self.useStompCommand = useStompCommand
            self.connectTimeout = connectTimeout
            self.receiptTimeout = receiptTimeout
            self.subscriptionBufferSize = subscriptionBufferSize
            self.connection = connection
        }
    }

    private enum ReceiptState {
        case pending
        case waiting(CheckedContinuation<StompFrame, any Error>)
        case arrived(StompFrame)
        case failed(any Error)
    }

    private struct State: ~Copyable {
        var connectWaiter: CheckedContinuation<StompFrame, any Error>?
        var connectedFrame: StompFrame?
        var connectFailure: StompClientError?
        var subscriptions: [String: StompSubscription] = [:]
        var receipts: [String: ReceiptState] = [:]
        var nextSubscription = 0
        var nextReceipt = 0
        var ending: StompClientError?
        var disconnecting = false
        var unroutedMessages = 0
        var tasks: [Task<Void, Never>] = []
    }

    /// The underlying connection (e.g. for raw sends in tests).
    public let connection: StompConnection
    private let options: Options
    private let state = Mutex(State())
    private let lastReceivedNanos = Atomic<UInt64>(0)
    private let endedSignal = BoundedAsyncQueue<Never>(capacity: 1)

    private init(connection: StompConnection, options: Options) {
        self.connection = connection
        self.options = options
    }

    /// Connects to `endpoint` and performs the CONNECT handshake.
    /// - Throws: ``StompClientError/connectRejected(_:)`` with the server's ERROR frame, a
    ///   ``StompConnectionError`` when the transport fails, or another ``StompClientError``.
    public static func connect(to endpoint: StompEndpoint, options: Options = Options()) async throws -> StompClient {
        let connection = try await StompConnection.connect(to: endpoint, configuration: options.connection)
        return try await connect(over: connection, options: options)
    }

    /// Performs the CONNECT handshake on an already open connection (whose inbound sequence nobody iterates).
    public static func connect(over connection: StompConnection, options: Options = Options()) async throws -> StompClient {
        let client = StompClient(connection: connection, options: options)
        do {
            try await client.handshake()
        } catch {
            await connection.close()
            client.end(with: error as? StompClientError ?? .transportFailed(String(describing: error)))
            throw error
        }
        return client
    }

    /// The CONNECTED frame the server answered with.
    public var connectedFrame: StompFrame {
        state.withLock { $0.connectedFrame } ?? StompFrame(.connected)
    }

    /// The negotiated STOMP version.
    public var version: StompVersion { connection.protocolVersion }

    /// The server's `session` header, if any.
    public var sessionID: String? { connectedFrame.headers["session"] }

    /// Why the session ended, or nil while it is running.
    public var endReason: StompClientError? { state.withLock { $0.ending } }

    /// MESSAGE frames that matched no active subscription (e.g. in flight while unsubscribing).
    public var unroutedMessageCount: Int { state.withLock { $0.unroutedMessages } }

    // MARK: Session operations

    /// Subscribes to `destination`. The returned sequence yields its MESSAGE frames.
    /// - Parameters:
    ///   - id: subscription id; nil picks `sub-N`.
    ///   - receipt: wait for the server's RECEIPT, so that messages sent afterwards are known to be routed here.
    public func subscribe(
        destination: String,
        ack: StompAckMode = .auto,
        headers: StompHeaders = [:],
        id: String? = nil,
        receipt: Bool = false
    ) async throws -> StompSubscription {
        try await subscribe(destination: destination, ack: ack, headers: headers, id: id, receipt: receipt, handler: nil)
    }

    /// Subscribes to `destination` and calls `onMessage` with every MESSAGE frame, in order, on the connection's
    /// event loop as it is decoded, instead of buffering it for iteration: no task switch per message, for load
    /// generators and other high-rate consumers. `onMessage` must be quick and must not block, since it holds up
    /// reading this connection (and others on the same event loop). The returned subscription yields no frames:
    /// iterating it waits until the subscription ends (nil on a clean end; it throws, like any subscription, when
    /// the session fails).
    public func subscribe(
        destination: String,
        ack: StompAckMode = .auto,
        headers: StompHeaders = [:],
        id: String? = nil,
        receipt: Bool = false,
        onMessage: @escaping @Sendable (StompFrame) -> Void
    ) async throws -> StompSubscription {
        try await subscribe(destination: destination, ack: ack, headers: headers, id: id, receipt: receipt, handler: onMessage)
    }

    private func subscribe(
        destination: String,
        ack: StompAckMode,
        headers: StompHeaders,
        id: String?,
        receipt: Bool,
        handler: (@Sendable (StompFrame) -> Void)?
    ) async throws -> StompSubscription {
        let subscription: StompSubscription = try state.withLock { state in
            if let ending = state.ending { throw ending }
            let chosen = id ?? { state.nextSubscription += 1; return "sub-\(state.nextSubscription)" }()
            let subscription = StompSubscription(
                id: chosen,
                destination: destination,
                ackMode: ack,
                queue: BoundedAsyncQueue(capacity: options.subscriptionBufferSize),
                handler: handler
            )
            state.subscriptions[chosen] = subscription
            return subscription
        }
        var frame = StompFrame(.subscribe, headers: headers)
        frame.headers["destination"] = destination
        frame.headers["id"] = subscription.id
        if ack != .auto || frame.headers["ack"] == nil { frame.headers["ack"] = ack.rawValue }
        do {
            try await send(frame, awaitReceipt: receipt)
        } catch {
            _ = state.withLock { $0.subscriptions.removeValue(forKey: subscription.id) }
            subscription.queue.finish(throwing: error)
            throw error
        }
        return subscription
    }

    /// Ends a subscription: sends UNSUBSCRIBE and finishes its sequence.
    public func unsubscribe(_ subscription: StompSubscription, receipt: Bool = false) async throws {
        _ = state.withLock { $0.subscriptions.removeValue(forKey: subscription.id) }
        subscription.queue.finish()
        try await send(StompFrame(.unsubscribe, headers: ["id": subscription.id]), awaitReceipt: receipt)
    }

    /// Sends a SEND frame; with `receipt` it returns only after the server's RECEIPT.
    public func send(
        destination: String,
        body: ByteBuffer = ByteBuffer(),
        headers: StompHeaders = [:],
        receipt: Bool = false
    ) async throws {
        var frame = StompFrame(.send, headers: headers, body: body)
        frame.headers["destination"] = destination
        try await send(frame, awaitReceipt: receipt)
    }

    /// Sends a SEND frame with a UTF-8 text body.
    public func send(destination: String, body: String, headers: StompHeaders = [:], receipt: Bool = false) async throws {
        try await send(destination: destination, body: ByteBuffer(string: body), headers: headers, receipt: receipt)
    }

    /// Sends any frame. With `awaitReceipt` a `receipt` header is added (unless present) and the RECEIPT is
    /// awaited and returned.
    @discardableResult
    public func send(_ frame: StompFrame, awaitReceipt: Bool) async throws -> StompFrame? {
        if let ending = endReason { throw ending }
        guard awaitReceipt else {
            try await write(frame)
            return nil
        }
        var frame = frame
        let receiptID = frame.headers["receipt"] ?? state.withLock { state in
            state.nextReceipt += 1
            return "rcpt-\(state.nextReceipt)"
        }
        frame.headers["receipt"] = receiptID
        state.withLock { $0.receipts[receiptID] = .pending }
        do {
            try await write(frame)
        } catch {
            _ = state.withLock { $0.receipts.removeValue(forKey: receiptID) }
            throw error
        }
        return try await waitForReceipt(receiptID)
    }

    /// Acknowledges a MESSAGE (1.2: `id` from its `ack` header; 1.0/1.1: `message-id` and `subscription`).
    public func ack(_ message: StompFrame, transaction: String? = nil, receipt: Bool = false) async throws {
        try await send(acknowledgement(.ack, for: message, transaction: transaction), awaitReceipt: receipt)
    }

    /// Negatively acknowledges a MESSAGE (STOMP 1.1+).
    public func nack(_ message: StompFrame, transaction: String? = nil, receipt: Bool = false) async throws {
        try await send(acknowledgement(.nack, for: message, transaction: transaction), awaitReceipt: receipt)
    }

    /// Sends DISCONNECT with a receipt, waits for the RECEIPT (or the server closing), then closes.
    /// Subscriptions end normally.
    public func disconnect(timeout: Duration = .seconds(5)) async throws {
        let alreadyEnded = state.withLock { state -> Bool in
            if state.ending != nil { return true }
            state.disconnecting = true
            return false
        }
        if alreadyEnded {
            await connection.close()
            return
        }
        let receiptID = "disconnect-\(UInt32.random(in: 0...UInt32.max))"
        state.withLock { $0.receipts[receiptID] = .pending }
        do {
            try await write(StompFrame(.disconnect, headers: ["receipt": receiptID]))
            _ = try await waitForReceipt(receiptID, timeout: timeout)
        } catch StompClientError.connectionClosed, StompClientError.disconnected {
            // Some servers (RabbitMQ Web-STOMP) close instead of sending the RECEIPT: that is a clean end too.
        } catch StompConnectionError.connectionClosed {
        }
        await closeAndEnd()
    }

    /// Closes the connection without DISCONNECT.
    public func close() async {
        state.withLock { $0.disconnecting = true }
        await closeAndEnd()
    }

    /// Waits until the session has ended and returns why (``StompClientError/disconnected`` after a clean end).
    public func waitUntilEnded() async -> StompClientError {
        _ = try? await endedSignal.next()
        return endReason ?? .disconnected
    }

    // MARK: Internals

    private func closeAndEnd() async {
        await connection.close()
        end(with: .disconnected)
    }

    private func write(_ frame: StompFrame) async throws {
        do {
            try await connection.send(frame)
        } catch StompConnectionError.connectionClosed {
            throw endReason ?? .connectionClosed
        }
    }

    private func acknowledgement(_ command: StompCommand, for message: StompFrame, transaction: String?) -> StompFrame {
        var frame = StompFrame(command)
        switch version {
        case .v1_2:
            frame.headers["id"] = message.headers["ack"] ?? message.headers["message-id"] ?? ""
        case .v1_1:
            frame.headers["message-id"] = message.headers["message-id"] ?? ""
            frame.headers["subscription"] = message.headers["subscription"] ?? ""
        case .v1_0:
            frame.headers["message-id"] = message.headers["message-id"] ?? ""
        }
        if let transaction { frame.headers["transaction"] = transaction }
        return frame
    }

    private func handshake() async throws {
        var frame = StompFrame(options.useStompCommand ? .stomp : .connect)
        frame.headers["accept-version"] = options.acceptVersions.map(\.rawValue).joined(separator: ",")
        frame.headers["host"] = options.host ?? connection.endpoint.host
        if let login = options.login { frame.headers["login"] = login }
        if let passcode = options.passcode { frame.headers["passcode"] = passcode }
        if let token = options.bearerToken { frame.headers["Authorization"] = "Bearer \(token)" }
        frame.headers["heart-beat"] = options.heartBeat.headerValue
        for (name, value) in options.headers { frame.headers.add(name, value) }

        markReceived()
        // MESSAGEs for `onMessage` subscriptions are handled on the event loop as they are decoded: no hop to the
        // reader task per socket read, which in a 1 → 1,000 fan-out was a large share of a load generator's CPU.
        connection.routeMessagesInline { [weak self] frame in
            guard let self else { return false }
            self.markReceived()
            guard let handler = self.subscription(for: frame)?.handler else { return false }
            handler(frame)
            return true
        }
        let reader = Task { await self.readLoop() }
        state.withLock { $0.tasks.append(reader) }
        try await connection.send(frame)

        let timeout = options.connectTimeout
        let timer = Task {
            try await Task.sleep(for: timeout)
            self.failConnect(.connectTimedOut)
        }
        defer { timer.cancel() }
        let connected = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<StompFrame, any Error>) in
            // The reply may already be here: the reader task started before CONNECT was written.
            let early: Result<StompFrame, StompClientError>? = state.withLock { state in
                if let frame = state.connectedFrame { return .success(frame) }
                if let failure = state.ending ?? state.connectFailure { return .failure(failure) }
                state.connectWaiter = continuation
                return nil
            }
            if let early { continuation.resume(with: early.mapError { $0 as any Error }) }
        }
        if let version = connected.headers["version"], StompVersion(rawValue: version) == nil {
            throw StompClientError.unsupportedVersion(version)
        }
        if connected.headers["version"] == nil {
            connection.setProtocolVersion(.v1_0)
        }
        startHeartBeats(connected: connected)
    }

    private func failConnect(_ error: StompClientError) {
        let waiter = state.withLock { state in
            // Not yet waiting (and not connected): leave the failure where the waiter will look.
            if state.connectWaiter == nil, state.connectedFrame == nil { state.connectFailure = error }
            defer { state.connectWaiter = nil }
            return state.connectWaiter
        }
        waiter?.resume(throwing: error)
    }

    private func startHeartBeats(connected: StompFrame) {
        let remote = connected.headers["heart-beat"].flatMap(StompHeartBeat.init(header:)) ?? StompHeartBeat(send: 0, receive: 0)
        let (outgoing, incoming) = StompHeartBeat.negotiate(local: options.heartBeat, remote: remote)
        var tasks: [Task<Void, Never>] = []
        if outgoing > 0 {
            tasks.append(Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(outgoing))
                    if Task.isCancelled { return }
                    do { try await self.connection.sendHeartBeat() } catch { return }
                }
            })
        }
        if incoming > 0 {
            let allowedNanos = UInt64(Double(incoming) * options.heartBeatTolerance * 1_000_000)
            tasks.append(Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(incoming))
                    if Task.isCancelled { return }
                    let silent = NIODeadline.now().uptimeNanoseconds &- self.lastReceivedNanos.load(ordering: .relaxed)
                    if silent > allowedNanos {
                        self.end(with: .heartBeatTimeout(milliseconds: Int(allowedNanos / 1_000_000)))
                        await self.connection.close()
                        return
                    }
                }
            })
        }
        let ended = state.withLock { state in
            state.tasks.append(contentsOf: tasks)
            return state.ending != nil
        }
        if ended { tasks.forEach { $0.cancel() } }
    }

    private func markReceived() {
        lastReceivedNanos.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
    }

    private func readLoop() async {
        do {
            for try await element in connection.inbound {
                markReceived()
                guard case .frame(let frame) = element else { continue }
                switch frame.command {
                case .message:
                    await route(frame)
                case .receipt:
                    if let id = frame.headers["receipt-id"] { resolveReceipt(id, with: .success(frame)) }
                case .connected:
                    let waiter = state.withLock { state in
                        state.connectedFrame = frame
                        defer { state.connectWaiter = nil }
                        return state.connectWaiter
                    }
                    waiter?.resume(returning: frame)
                case .error:
                    let waiter = state.withLock { state in
                        defer { state.connectWaiter = nil }
                        return state.connectWaiter
                    }
                    if let waiter {
                        end(with: .connectRejected(frame))
                        waiter.resume(throwing: StompClientError.connectRejected(frame))
                    } else {
                        end(with: .serverError(frame))
                    }
                    await connection.close()
                    return
                default:
                    // Not a server frame; a client frame echoed by a broken peer is ignored.
                    break
                }
            }
            let disconnecting = state.withLock { $0.disconnecting }
            end(with: disconnecting ? .disconnected : .connectionClosed)
        } catch let error as StompDecodingError {
            end(with: .decodingFailed(error.description))
        } catch {
            let disconnecting = state.withLock { $0.disconnecting }
            end(with: disconnecting ? .disconnected : .transportFailed(String(describing: error)))
        }
        failConnect(endReason ?? .connectionClosed)
    }

    private func subscription(for frame: StompFrame) -> StompSubscription? {
        state.withLock { state in
            if let id = frame.headers["subscription"] { return state.subscriptions[id] }
            // STOMP 1.0 servers may omit `subscription`: fall back to the destination.
            let destination = frame.headers["destination"]
            return state.subscriptions.values.first { $0.destination == destination }
        }
    }

    private func route(_ frame: StompFrame) async {
        if let subscription = subscription(for: frame) {
            if let handler = subscription.handler {
                handler(frame)
                return
            }
            if await subscription.queue.push(frame) { return }
        }
        state.withLock { $0.unroutedMessages += 1 }
    }

    private func waitForReceipt(_ id: String, timeout: Duration? = nil) async throws -> StompFrame {
        let limit = timeout ?? options.receiptTimeout
        let timer = Task {
            try await Task.sleep(for: limit)
            self.resolveReceipt(id, with: .failure(StompClientError.receiptTimedOut(id)))
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<StompFrame, any Error>) in
                let outcome: Result<StompFrame, any Error>? = state.withLock { state in
                    switch state.receipts[id] {
                    case .arrived(let frame):
                        state.receipts[id] = nil
                        return .success(frame)
                    case .failed(let error):
                        state.receipts[id] = nil
                        return .failure(error)
                    case .pending:
                        state.receipts[id] = .waiting(continuation)
                        return nil
                    case .waiting, nil:
                        return .failure(state.ending ?? StompClientError.receiptTimedOut(id))
                    }
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            self.resolveReceipt(id, with: .failure(CancellationError()))
        }
    }

    private func resolveReceipt(_ id: String, with result: Result<StompFrame, any Error>) {
        let waiter: CheckedContinuation<StompFrame, any Error>? = state.withLock { state in
            switch state.receipts[id] {
            case .waiting(let continuation):
                state.receipts[id] = nil
                return continuation
            case .pending:
                switch result {
                case .success(let frame): state.receipts[id] = .arrived(frame)
                case .failure(let error): state.receipts[id] = .failed(error)
                }
                return nil
            case .arrived, .failed, nil:
                return nil
            }
        }
        waiter?.resume(with: result)
    }

    /// Ends the session once: records why, fails waiters, finishes subscriptions, stops heart-beat tasks.
    private func end(with reason: StompClientError) {
        let (subscriptions, receipts, tasks, connectWaiter): (
            [StompSubscription], [CheckedContinuation<StompFrame, any Error>], [Task<Void, Never>],
            CheckedContinuation<StompFrame, any Error>?
        ) = state.withLock { state in
            guard state.ending == nil else { return ([], [], [], nil) }
            state.ending = reason
            let subscriptions = Array(state.subscriptions.values)
            state.subscriptions.removeAll()
            var waiters: [CheckedContinuation<StompFrame, any Error>] = []
            for (id, receipt) in state.receipts {
                switch receipt {
                case .waiting(let continuation): waiters.append(continuation)
                case .pending: state.receipts[id] = .failed(reason)
                case .arrived, .failed: break
                }
            }
            state.receipts = state.receipts.filter { if case .waiting = $0.value { false } else { true } }
            let tasks = state.tasks
            state.tasks.removeAll()
            defer { state.connectWaiter = nil }
            return (subscriptions, waiters, tasks, state.connectWaiter)
        }
        let clean = reason == .disconnected
        for subscription in subscriptions { subscription.queue.finish(throwing: clean ? nil : reason) }
        for waiter in receipts { waiter.resume(throwing: reason) }
        connectWaiter?.resume(throwing: reason)
        for task in tasks { task.cancel() }
        endedSignal.finish()
    }
}
