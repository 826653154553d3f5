import NIOCore
import ParleyCodec

/// The STOMP session protocol of one connection, as a pure value: bytes, timer ticks, write-buffer state and
/// completions go in, ``SessionAction``s come out. It owns version negotiation, heart-beats, subscriptions,
/// acknowledgement bookkeeping, transactions, receipts and limits; it touches no channel, clock, lock or broker,
/// so every transition is tested without NIO (the shape of postgres-nio's `ConnectionStateMachine`).
///
/// ``StompSessionHandler`` feeds it and performs the actions. Inbound frames are handled one at a time
/// (``nextFrame()``): a frame's actions are performed before the next frame is decoded, so an application that
/// refuses a SEND stops the frames behind it, as a failed frame always does.
struct StompSessionStateMachine {
    /// What a session is configured with.
    struct Configuration {
        /// Limits, timings and the versions offered.
        var broker: BrokerConfiguration
        /// Highest version this transport allows (a WebSocket subprotocol such as `v11.stomp` caps it).
        var maxVersion: StompVersion = .v1_2
        /// The `/app/...` destinations some application handles.
        var applicationDestinations: [String] = []
        /// Topics only applications publish to.
        var applicationTopics: [ApplicationTopic] = []
    }

    /// A topic prefix an application publishes to, and where clients send instead.
    struct ApplicationTopic {
        var prefix: String
        var sendInstead: String
    }

    enum State {
        case awaitingConnect
        case authenticating(PendingConnect)
        case connected
        case closing
        case closed
    }

    /// What a CONNECT asked for, kept while the token is verified.
    struct PendingConnect {
        var version: StompVersion
        var heartBeat: StompHeartBeat
        var receipt: String?
    }

    /// A frame of a committed transaction waiting its turn, or the COMMIT's own receipt after the last of them.
    enum Replay {
        case frame(StompFrame)
        case commitDone(receipt: String?)
    }

    let configuration: Configuration
    private(set) var state = State.awaitingConnect
    private var decoder: StompDecoder
    private var inbound: ByteBuffer?
    /// The negotiated version (1.2 until CONNECT is accepted).
    private(set) var version = StompVersion.v1_2
    /// Who the session belongs to, once authenticated.
    private(set) var principal: StompPrincipal?
    private(set) var subscriptions: [String: SessionSubscription] = [:]
    /// Ack id (the MESSAGE's `ack`/`message-id`) → message awaiting ACK/NACK.
    private(set) var unacknowledged: [String: PendingMessage] = [:]
    private var messageCounter = 0
    private var transactions: [String: [StompFrame]] = [:]
    /// Body bytes held by ``unacknowledged`` messages (shared with other subscribers, but pinned by this session).
    private(set) var unacknowledgedBytes = 0
    /// Bytes of the frames held in open transactions.
    private(set) var transactionBytes = 0
    /// Bytes written but not yet on the socket, as last reported by the handler.
    private(set) var outboundBytes = 0
    /// When the unfinished frame at the end of the input began arriving; `nil` when there is none.
    private(set) var partialFrameSince: NIODeadline?
    private var lastRead = NIODeadline.uptimeNanoseconds(0)
    private var replay: [Replay] = []
    private var replayPosition = 0
    /// Negotiated interval of the client's heart-beats in ms; 0 when they are not checked.
    private var incomingHeartBeat = 0
    private var lastReadAt = NIODeadline.uptimeNanoseconds(0)
    private var wroteSinceHeartBeat = false

    init(configuration: Configuration) {
        self.configuration = configuration
        self.decoder = StompDecoder(version: .v1_2, limits: configuration.broker.preAuthLimits)
    }

    private var limits: BrokerConfiguration { configuration.broker }

    /// Whether frames are still being read and handled.
    var isOpen: Bool {
        switch state {
        case .awaitingConnect, .authenticating, .connected: true
        case .closing, .closed: false
        }
    }

    /// Whether CONNECT has been accepted and the session is not ending.
    var isConnected: Bool {
        if case .connected = state { true } else { false }
    }

    // MARK: - Lifecycle

    /// The connection is open.
    mutating func sessionStarted() -> [SessionAction] {
        [.scheduleConnectTimeout(limits.connectTimeout)]
    }

    /// No CONNECT (or no verdict on its token) in time.
    mutating func connectTimedOut() -> [SessionAction] {
        switch state {
        case .awaitingConnect, .authenticating:
            fail("no CONNECT within \(limits.connectTimeout.nanoseconds / 1_000_000) ms", kind: .other)
        case .connected, .closing, .closed:
            []
        }
    }

    /// The transport saw a violation below STOMP (e.g. a WebSocket message over the size limit).
    mutating func transportViolation(_ message: String) -> [SessionAction] {
        fail(message, kind: .protocolViolation)
    }

    /// The server is shutting down (or otherwise ends the session) with `reason`.
    mutating func shutDown(reason: String) -> [SessionAction] {
        fail(reason, kind: .other)
    }

    /// The connection is gone.
    mutating func connectionClosed() -> [SessionAction] {
        let actions = beginClosing()
        state = .closed
        return actions
    }

    // MARK: - Inbound bytes

    /// Takes a read from the transport, in any chunking; frames come out of ``nextFrame()``.
    mutating func bytesReceived(_ bytes: ByteBuffer, at now: NIODeadline) {
        guard isOpen else { return }
        lastRead = now
        if incomingHeartBeat > 0 { lastReadAt = now }
        if inbound == nil || inbound!.readableBytes == 0 {
            inbound = bytes
        } else {
            inbound!.writeImmutableBuffer(bytes)
        }
    }

    /// Handles the next frame (a committed transaction's frames first, then the next complete frame received);
    /// `nil` when there is none to handle now: more bytes are needed, the token is being verified, or the
    /// session is ending. A heart-beat gives `[]`.
    mutating func nextFrame() -> [SessionAction]? {
        switch state {
        case .connected:
            if replayPosition < replay.count { return replayNext() }
        case .awaitingConnect:
            break
        case .authenticating:
            // Frames pipelined behind CONNECT wait for the verdict; a flood of them does not.
            if let buffered = inbound, buffered.readableBytes > limits.preAuthLimits.maxFrameSize {
                return fail("too much data sent before CONNECTED", kind: .protocolViolation)
            }
            return nil
        case .closing, .closed:
            return nil
        }
        guard inbound != nil else { return nil }
        let decoded: StompDecoded?
        do {
            decoded = try decoder.next(from: &inbound!)
        } catch {
            return fail(error.message, kind: .protocolViolation)
        }
        guard let decoded else {
            compactInbound()
            guard let partial = inbound?.readableBytes, partial > 0 else {
                partialFrameSince = nil
                return nil
            }
            if partialFrameSince == nil { partialFrameSince = lastRead }
            return overBudget()
        }
        partialFrameSince = nil
        guard case .frame(let frame) = decoded else { return [] }
        return handle(frame)
    }

    /// The frame-completion timer fired: a frame that began more than the timeout ago and is still unfinished
    /// ends the session. `[]` when there is none (or it is younger).
    mutating func frameDeadlinePassed(now: NIODeadline) -> [SessionAction] {
        guard isOpen, let since = partialFrameSince, now - since >= limits.frameCompletionTimeout else { return [] }
        return fail(
            "frame not completed within \(limits.frameCompletionTimeout.nanoseconds / 1_000_000) ms of its first byte",
            kind: .protocolViolation)
    }

    /// Every byte the session holds, as counted against the memory budgets.
    var memoryUsage: Int { outboundBytes + unacknowledgedBytes + transactionBytes + (inbound?.readableBytes ?? 0) }

    /// ERROR and close when ``memoryUsage`` is over the session budget; `nil` otherwise.
    private mutating func overBudget() -> [SessionAction]? {
        let usage = memoryUsage
        guard usage > limits.sessionMemoryBudget else { return nil }
        return fail(
            "session memory budget of \(limits.sessionMemoryBudget) bytes exceeded: \(usageBreakdown)",
            kind: outboundBytes + unacknowledgedBytes > usage / 2 ? .slowConsumer : .protocolViolation)
    }

    private var usageBreakdown: String {
        "\(outboundBytes) bytes waiting to be sent, \(unacknowledgedBytes) unacknowledged, "
            + "\(transactionBytes) in transactions, \(inbound?.readableBytes ?? 0) of an unfinished frame"
    }

    /// The node's memory budget (all sessions together) has no room for this session's growth.
    mutating func nodeBudgetExceeded() -> [SessionAction] {
        fail(
            "server memory budget of \(limits.nodeMemoryBudget) bytes exceeded; this session holds \(usageBreakdown)",
            kind: .slowConsumer)
    }

    private mutating func compactInbound() {
        guard let buffered = inbound else { return }
        if buffered.readableBytes == 0 {
            // Idle sessions keep no receive buffer.
            inbound = nil
        } else if buffered.readerIndex > 4096 {
            inbound!.discardReadBytes()
        }
    }

    private mutating func handle(_ frame: StompFrame) -> [SessionAction] {
        let receipt = frame.headers["receipt"]
        if case .awaitingConnect = state {
            guard frame.command == .connect || frame.command == .stomp else {
                return fail("expected a CONNECT or STOMP frame first, got \(frame.command)", receipt: receipt)
            }
            return handleConnect(frame, receipt: receipt)
        }
        return process(frame, receipt: receipt).actions(receipt: receipt)
    }

    private mutating func replayNext() -> [SessionAction] {
        let next = replay[replayPosition]
        replayPosition += 1
        if replayPosition == replay.count {
            replay = []
            replayPosition = 0
        }
        switch next {
        case .frame(let frame):
            return process(frame, receipt: nil).actions(receipt: nil)
        case .commitDone(let receipt):
            return receipt.map { [.writeReceipt($0)] } ?? []
        }
    }

    // MARK: - CONNECT

    private mutating func handleConnect(_ frame: StompFrame, receipt: String?) -> [SessionAction] {
        let offered = frame.headers["accept-version"].map { header in
            header.split(separator: ",").compactMap { StompVersion(rawValue: String($0).trimmingSpaces()) }
        } ?? [.v1_0]
        let supported = limits.supportedVersions.filter { $0 <= configuration.maxVersion }.sorted()
        guard let negotiated = supported.last(where: offered.contains) else {
            let list = supported.map(\.rawValue).joined(separator: ",")
            return fail("Supported protocol versions are \(list)", receipt: receipt, extraHeaders: [("version", list)])
        }
        var heartBeat = StompHeartBeat(send: 0, receive: 0)
        if negotiated > .v1_0, let header = frame.headers["heart-beat"] {
            guard let parsed = StompHeartBeat(header: header) else {
                return fail("invalid heart-beat header '\(header)': expected two comma-separated numbers", receipt: receipt)
            }
            heartBeat = parsed
        }
        guard let token = Self.token(in: frame.headers) else {
            return fail(StompAuthenticationError.missingToken.message, receipt: receipt, kind: .authentication)
        }
        state = .authenticating(PendingConnect(version: negotiated, heartBeat: heartBeat, receipt: receipt))
        return [.authenticate(token: token)]
    }

    /// The token from `Authorization: Bearer …` (either case of the header name), else from `passcode`.
    static func token(in headers: StompHeaders) -> String? {
        for name in ["Authorization", "authorization"] {
            guard let value = headers[name] else { continue }
            let trimmed = value.trimmingSpaces()
            if trimmed.utf8.count > 7, trimmed.prefix(7).lowercased() == "bearer " {
                let token = String(trimmed.dropFirst(7)).trimmingSpaces()
                if !token.isEmpty { return token }
            }
        }
        if let passcode = headers["passcode"], !passcode.isEmpty { return passcode }
        return nil
    }

    /// The token verified: CONNECTED (and the CONNECT's RECEIPT) go out, pipelined frames can be handled.
    mutating func authenticated(as principal: StompPrincipal, sessionId: String, now: NIODeadline) -> [SessionAction] {
        guard case .authenticating(let pending) = state else { return [] }
        self.principal = principal
        version = pending.version
        decoder.version = pending.version
        decoder.limits = limits.limits
        state = .connected

        let (outgoing, incoming) =
            pending.version > .v1_0 ? StompHeartBeat.negotiate(local: limits.heartBeat, remote: pending.heartBeat) : (0, 0)
        var headers = StompHeaders()
        headers.add("version", pending.version.rawValue)
        headers.add("heart-beat", "\(outgoing),\(incoming)")
        headers.add("session", sessionId)
        headers.add("server", limits.serverName)
        headers.add("user-name", principal.name.singleLine)
        var actions: [SessionAction] = [.write(StompFrame(.connected, headers: headers))]
        if let receipt = pending.receipt { actions.append(.writeReceipt(receipt)) }
        incomingHeartBeat = incoming
        lastReadAt = now
        // Checking every half interval keeps any silence at most one interval long.
        actions.append(
            .startSession(
                sendHeartBeatEvery: outgoing > 0 ? .milliseconds(Int64(max(1, outgoing / 2))) : nil,
                checkHeartBeatEvery: incoming > 0 ? .milliseconds(Int64(incoming)) : nil))
        return actions
    }

    /// The token was refused (or verification failed) with a client-safe reason.
    mutating func authenticationFailed(_ error: StompAuthenticationError) -> [SessionAction] {
        guard case .authenticating(let pending) = state else { return [] }
        return fail(error.message, receipt: pending.receipt, kind: .authentication)
    }

    // MARK: - Frames of an authenticated session

    /// What became of one frame: `completed` frames get their RECEIPT now, `deferred` ones later (or never).
    private enum Outcome {
        case completed([SessionAction])
        case deferred([SessionAction])
        case failed([SessionAction])

        func actions(receipt: String?) -> [SessionAction] {
            switch self {
            case .completed(var actions):
                if let receipt { actions.append(.writeReceipt(receipt)) }
                return actions
            case .deferred(let actions), .failed(let actions):
                return actions
            }
        }
    }

    private mutating func process(_ frame: StompFrame, receipt: String?) -> Outcome {
        switch frame.command {
        case .send, .ack, .nack:
            if let transaction = frame.headers["transaction"] {
                return buffer(frame, in: transaction, receipt: receipt)
            }
            if frame.command == .send { return handleSend(frame, receipt: receipt) }
            return handleAcknowledgement(frame, receipt: receipt)
        case .subscribe:
            return handleSubscribe(frame, receipt: receipt)
        case .unsubscribe:
            return handleUnsubscribe(frame, receipt: receipt)
        case .begin, .commit, .abort:
            return handleTransaction(frame, receipt: receipt)
        case .disconnect:
            var actions = beginClosing()
            if let receipt { actions.append(.writeReceipt(receipt)) }
            actions.append(.closeAfterFlush(forceAfterGrace: receipt != nil))
            return .deferred(actions)
        case .connect, .stomp:
            return .failed(fail("already connected", receipt: receipt))
        default:
            return .failed(fail("a client may not send \(frame.command) frames", receipt: receipt))
        }
    }

    private mutating func handleSend(_ frame: StompFrame, receipt: String?) -> Outcome {
        guard let raw = frame.headers["destination"], !raw.isEmpty else {
            return .failed(fail("SEND requires a destination header", receipt: receipt))
        }
        switch Destination(raw) {
        case .application(let path):
            guard configuration.applicationDestinations.contains(path) else {
                return .failed(fail("unknown application destination '\(path)': \(applicationList)", receipt: receipt))
            }
            return .deferred([.dispatch(frame, receipt: receipt)])
        case .topic(let topic):
            if let owned = configuration.applicationTopics.first(where: { topic.hasPrefix($0.prefix) }) {
                return .failed(
                    fail("clients cannot SEND to '\(topic)': \(owned.prefix)* is published by the server; send to \(owned.sendInstead)",
                        receipt: receipt))
            }
            guard limits.allowClientTopicSends else {
                let instead = configuration.applicationDestinations.first.map { "; send to \($0)" } ?? ""
                return .failed(fail("clients cannot SEND to topics on this server\(instead)", receipt: receipt))
            }
            let contentType = frame.headers["content-type"]
            if let contentType, !StompHeaderEscaping.isPlain(contentType, version: .v1_2) {
                return .failed(fail("invalid content-type '\(contentType.singleLine)'", receipt: receipt))
            }
            return .completed([.publish(destination: topic, message: BrokerMessage(body: frame.body, contentType: contentType))])
        case .userQueue, .otherUserQueue:
            let target = configuration.applicationDestinations.first.map { "send to \($0)" } ?? "no application accepts messages"
            return .failed(fail("clients cannot SEND to user queues: \(target)", receipt: receipt))
        case nil:
            return .failed(fail(Destination.unsupportedMessage(raw), receipt: receipt))
        }
    }

    private var applicationList: String {
        switch configuration.applicationDestinations.count {
        case 0: "this server has no application destinations"
        case 1: "the only one is \(configuration.applicationDestinations[0])"
        default: "known ones are \(configuration.applicationDestinations.joined(separator: ", "))"
        }
    }

    /// The application handling a SEND answered: success sends the RECEIPT, a refusal ERROR and close.
    mutating func applicationCompleted(receipt: String?, _ result: Result<Void, ApplicationError>) -> [SessionAction] {
        guard isConnected else { return [] }
        switch result {
        case .success:
            return receipt.map { [.writeReceipt($0)] } ?? []
        case .failure(let error):
            return fail(error.message, receipt: receipt, kind: error.isClientError ? .protocolViolation : .other)
        }
    }

    private mutating func handleSubscribe(_ frame: StompFrame, receipt: String?) -> Outcome {
        guard let principal else { return .failed([]) }
        guard let raw = frame.headers["destination"], !raw.isEmpty else {
            return .failed(fail("SUBSCRIBE requires a destination header", receipt: receipt))
        }
        guard let id = frame.headers["id"] ?? (version == .v1_0 ? raw : nil), !id.isEmpty else {
            return .failed(fail("SUBSCRIBE requires an id header", receipt: receipt))
        }
        guard subscriptions[id] == nil else {
            return .failed(fail("subscription id '\(id)' is already in use in this session", receipt: receipt))
        }
        guard subscriptions.count < limits.maxSubscriptionsPerSession else {
            return .failed(fail("too many subscriptions (limit \(limits.maxSubscriptionsPerSession))", receipt: receipt))
        }
        guard let ackMode = AckMode(header: frame.headers["ack"]) else {
            return .failed(
                fail("invalid ack mode '\(frame.headers["ack"] ?? "")': use auto, client or client-individual", receipt: receipt))
        }
        let owner: String?
        switch Destination(raw) {
        case .topic:
            owner = nil
        case .userQueue:
            owner = principal.id
        case .otherUserQueue:
            return .failed(
                fail(
                    "cannot subscribe to another user's queue '\(raw)': subscribe to /user/queue/... for your own messages",
                    receipt: receipt))
        case .application:
            return .failed(fail("cannot subscribe to '\(raw)': /app destinations accept SEND only", receipt: receipt))
        case nil:
            return .failed(fail(Destination.unsupportedMessage(raw), receipt: receipt))
        }
        let subscription = SessionSubscription(id: id, destination: raw, userQueueOwner: owner, ackMode: ackMode)
        subscriptions[id] = subscription
        return .completed([.subscribe(subscription)])
    }

    private mutating func handleUnsubscribe(_ frame: StompFrame, receipt: String?) -> Outcome {
        guard let id = frame.headers["id"] ?? (version == .v1_0 ? frame.headers["destination"] : nil) else {
            return .failed(fail("UNSUBSCRIBE requires an id header", receipt: receipt))
        }
        guard subscriptions.removeValue(forKey: id) != nil else {
            return .failed(fail("no subscription with id '\(id)' in this session", receipt: receipt))
        }
        let orphaned = unacknowledged.filter { $0.value.subscription.id == id }
        for key in orphaned.keys { unacknowledged[key] = nil }
        unacknowledgedBytes -= orphaned.values.reduce(0) { $0 + $1.message.size }
        return .completed([.unsubscribe(id: id, unacknowledged: orphaned.values.sorted { $0.sequence < $1.sequence })])
    }

    private mutating func handleAcknowledgement(_ frame: StompFrame, receipt: String?) -> Outcome {
        let command = frame.command
        let idHeader = version == .v1_2 ? "id" : "message-id"
        guard let ackId = frame.headers[idHeader] else {
            return .failed(fail("\(command) requires a\(version == .v1_2 ? "n" : "") \(idHeader) header", receipt: receipt))
        }
        guard let entry = unacknowledged[ackId] else {
            return .failed(fail("no unacknowledged message with id '\(ackId)'", receipt: receipt))
        }
        let subscriptionId = entry.subscription.id
        if version == .v1_1, frame.headers["subscription"] != subscriptionId {
            return .failed(
                fail("\(command) for message '\(ackId)' must name its subscription '\(subscriptionId)'", receipt: receipt))
        }
        var settled: [PendingMessage]
        if entry.subscription.ackMode == .client {
            // Cumulative: everything of this subscription up to and including this message.
            let keys = unacknowledged.compactMap { key, value in
                value.subscription.id == subscriptionId && value.sequence <= entry.sequence ? key : nil
            }
            settled = keys.compactMap { unacknowledged.removeValue(forKey: $0) }
            settled.sort { $0.sequence < $1.sequence }
        } else {
            unacknowledged[ackId] = nil
            settled = [entry]
        }
        unacknowledgedBytes -= settled.reduce(0) { $0 + $1.message.size }
        return .completed(command == .nack ? [.redeliver(settled)] : [])
    }

    private mutating func buffer(_ frame: StompFrame, in transaction: String, receipt: String?) -> Outcome {
        guard let held = transactions[transaction] else {
            return .failed(fail("unknown transaction '\(transaction)'", receipt: receipt))
        }
        guard held.count < limits.maxFramesPerTransaction else {
            return .failed(
                fail("too many frames in transaction '\(transaction)' (limit \(limits.maxFramesPerTransaction))", receipt: receipt))
        }
        var frame = frame
        frame.headers["transaction"] = nil
        frame.headers["receipt"] = nil
        transactions[transaction]!.append(frame)
        transactionBytes += Self.heldSize(of: frame)
        if let exceeded = overBudget() { return .failed(exceeded) }
        return .completed([])
    }

    private mutating func handleTransaction(_ frame: StompFrame, receipt: String?) -> Outcome {
        guard let transaction = frame.headers["transaction"], !transaction.isEmpty else {
            return .failed(fail("\(frame.command) requires a transaction header", receipt: receipt))
        }
        if frame.command == .begin {
            guard transactions[transaction] == nil else {
                return .failed(fail("transaction '\(transaction)' has already begun", receipt: receipt))
            }
            guard transactions.count < limits.maxOpenTransactions else {
                return .failed(fail("too many open transactions (limit \(limits.maxOpenTransactions))", receipt: receipt))
            }
            transactions[transaction] = []
            return .completed([])
        }
        guard let frames = transactions.removeValue(forKey: transaction) else {
            return .failed(fail("unknown transaction '\(transaction)'", receipt: receipt))
        }
        transactionBytes -= frames.reduce(0) { $0 + Self.heldSize(of: $1) }
        guard frame.command == .commit, !frames.isEmpty else { return .completed([]) }
        // Replayed one by one by `nextFrame()`, so a held frame that fails stops the rest, as it would outside.
        replay.append(contentsOf: frames.map(Replay.frame))
        replay.append(.commitDone(receipt: receipt))
        return .deferred([])
    }

    /// What a held frame costs: its body plus its header text.
    private static func heldSize(of frame: StompFrame) -> Int {
        frame.headers.reduce(frame.body.readableBytes + 16) { $0 + $1.name.utf8.count + $1.value.utf8.count + 2 }
    }

    // MARK: - Outbound

    /// Routes one message the broker sent this session on `subscription` (whose registry entry is still
    /// `isActive`): numbers it and, for client acknowledgement, remembers it until ACK/NACK.
    mutating func messageArrived(_ message: BrokerMessage, on subscription: SessionSubscription, isActive: Bool) -> DeliveryDecision {
        guard isConnected, isActive else {
            // Gone between lookup and delivery: a user-queue message still belongs to the user's other sessions.
            return subscription.userQueueOwner != nil
                ? .handBack(PendingMessage(subscription: subscription, message: message, sequence: 0)) : .drop
        }
        messageCounter &+= 1
        guard subscription.ackMode != .auto else { return .write(messageId: messageCounter, ackHeader: false) }
        unacknowledged[String(messageCounter)] = PendingMessage(subscription: subscription, message: message, sequence: messageCounter)
        unacknowledgedBytes += message.size
        var then: [SessionAction] = []
        if unacknowledged.count > limits.maxUnackedMessagesPerSession {
            then = slowConsumer("more than \(limits.maxUnackedMessagesPerSession) unacknowledged messages")
        } else if let exceeded = overBudget() {
            then = exceeded
        }
        return .write(messageId: messageCounter, ackHeader: version == .v1_2, then: then)
    }

    /// Something was written; `pendingBytes` are written but not yet on the socket. Past the outbound limit the
    /// client counts as a slow consumer; otherwise `nil` (the common case, without allocating).
    mutating func wrote(pendingBytes: Int) -> [SessionAction]? {
        wroteSinceHeartBeat = true
        outboundBytes = pendingBytes
        guard isConnected else { return nil }
        if pendingBytes > limits.outboundBufferLimit {
            return slowConsumer("more than \(limits.outboundBufferLimit) bytes waiting to be sent")
        }
        return overBudget()
    }

    /// Written bytes reached the socket; `pendingBytes` are still waiting.
    mutating func drained(pendingBytes: Int) {
        outboundBytes = pendingBytes
    }

    /// The outgoing heart-beat timer fired: an EOL unless something else was written since the last tick.
    mutating func heartBeatSendDue() -> [SessionAction] {
        guard isConnected else { return [] }
        if wroteSinceHeartBeat {
            wroteSinceHeartBeat = false
            return []
        }
        return [.writeHeartBeat]
    }

    /// The incoming heart-beat timer fired: a client silent for longer than the tolerance is disconnected.
    mutating func heartBeatCheckDue(now: NIODeadline) -> [SessionAction] {
        guard isConnected, incomingHeartBeat > 0 else { return [] }
        let tolerance = TimeAmount.milliseconds(Int64((Double(incomingHeartBeat) * limits.heartBeatTolerance).rounded(.up)))
        let silence = now - lastReadAt
        guard silence > tolerance else { return [] }
        return fail(
            "heart-beat timeout: nothing received for \(silence.nanoseconds / 1_000_000) ms "
                + "(negotiated \(incomingHeartBeat) ms)", kind: .other)
    }

    // MARK: - Failing and closing

    private mutating func slowConsumer(_ reason: String) -> [SessionAction] {
        fail("slow consumer: \(reason)", kind: .slowConsumer)
    }

    /// ERROR with `message` (plus `receipt-id` and extra headers), then close. Nothing once the session is ending.
    private mutating func fail(
        _ message: String, receipt: String? = nil, extraHeaders: [(String, String)] = [], kind: SessionFailure = .protocolViolation
    ) -> [SessionAction] {
        guard isOpen else { return [] }
        var actions = beginClosing()
        var headers = StompHeaders()
        headers.add("message", message.singleLine)
        if let receipt { headers.add("receipt-id", receipt) }
        for (name, value) in extraHeaders { headers.add(name, value) }
        headers.add("content-type", "text/plain")
        actions.append(.record(kind))
        actions.append(.write(StompFrame(.error, headers: headers, body: message)))
        actions.append(.closeAfterFlush(forceAfterGrace: true))
        return actions
    }

    /// Ends the session's protocol state: subscriptions leave the registry, unacknowledged messages go back.
    private mutating func beginClosing() -> [SessionAction] {
        guard isOpen else { return [] }
        state = .closing
        let ended = Array(subscriptions.keys)
        let pending = unacknowledged.values.sorted { $0.sequence < $1.sequence }
        subscriptions = [:]
        unacknowledged = [:]
        unacknowledgedBytes = 0
        transactions = [:]
        transactionBytes = 0
        partialFrameSince = nil
        replay = []
        replayPosition = 0
        inbound = nil
        return [.endSession(subscriptionIds: ended, unacknowledged: pending)]
    }
}

extension String {
    /// Line breaks replaced by spaces: ERROR `message` headers and CONNECTED `user-name` are one line.
    var singleLine: String {
        guard contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return self }
        return split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }).joined(separator: " ")
    }

    /// Without leading and trailing spaces and tabs (no Foundation on this path).
    func trimmingSpaces() -> String {
        var view = Substring(self)
        while view.first == " " || view.first == "\t" { view.removeFirst() }
        while view.last == " " || view.last == "\t" { view.removeLast() }
        return String(view)
    }
}
