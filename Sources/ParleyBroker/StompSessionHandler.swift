import Foundation
import NIOCore
import ParleyCodec
import ParleyRelay

/// One STOMP session: the per-connection state machine, fed raw bytes by a transport (TCP or WebSocket).
///
/// Inbound it takes `ByteBuffer`s in any chunking (a frame may span reads, a read may hold many frames) and
/// writes encoded frames as `ByteBuffer`s, one STOMP frame per write so that a WebSocket transport can map
/// each to one message. All state is confined to the channel's event loop; other threads reach a session
/// only through the broker, which hops to that loop first.
public final class StompSessionHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    /// Raw STOMP bytes from the transport.
    public typealias InboundIn = ByteBuffer
    /// Encoded STOMP frames (or a heart-beat newline), one per write.
    public typealias OutboundOut = ByteBuffer

    private enum State { case awaitingConnect, authenticating, connected, closing, closed }

    /// What a CONNECT asked for, kept while the token is verified.
    private struct PendingConnect {
        var version: StompVersion
        var heartBeat: StompHeartBeat
        var receipt: String?
    }

    let broker: StompBroker
    private let configuration: BrokerConfiguration
    private let maxVersion: StompVersion
    private let framing: OutboundFraming
    /// This event loop's shared flush list (set with the context).
    private var flushQueue: LoopFlushQueue?
    /// The channel's allocator, kept so a delivery does not reach through `context.channel` (a retain and a
    /// release per MESSAGE in a fan-out profile).
    private var allocator = ByteBufferAllocator()
    private var state = State.awaitingConnect
    private var context: ChannelHandlerContext?
    /// The event loop this session lives on; set when the handler joins a pipeline.
    private(set) var eventLoop: (any EventLoop)!

    private var decoder: StompDecoder
    private var inbound: ByteBuffer?
    private var version = StompVersion.v1_2
    private var principal: StompPrincipal?
    private var sessionId = ""
    private var pendingConnect: PendingConnect?

    private var subscriptions: [String: Subscription] = [:]
    /// Ack id (the MESSAGE's `ack`/`message-id`) → message awaiting ACK/NACK.
    private var unacked: [String: PendingMessage] = [:]
    private var messageCounter = 0
    private var transactions: [String: [StompFrame]] = [:]

    private var connectTimeoutTask: Scheduled<Void>?
    private var forcedCloseTask: Scheduled<Void>?
    private var outgoingHeartBeatTask: RepeatedTask?
    private var incomingHeartBeatTask: RepeatedTask?
    private var incomingHeartBeatInterval = 0
    private var lastReadAt = NIODeadline.uptimeNanoseconds(0)
    private var wroteSinceHeartBeat = false

    /// The newest write, held back so that the flush that sends it can carry the batch's one promise.
    private var heldWrite: ByteBuffer?
    private var unflushedBytes = 0
    private var inFlightBytes = 0
    private var flushScheduled = false
    private var inChannelRead = false

    init(broker: StompBroker, maxVersion: StompVersion, framing: OutboundFraming) {
        self.broker = broker
        self.configuration = broker.configuration
        self.maxVersion = maxVersion
        self.framing = framing
        self.decoder = StompDecoder(version: .v1_2, limits: broker.configuration.preAuthLimits)
    }

    // MARK: - Channel events

    /// Registers the session with the broker and starts the CONNECT timeout.
    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.eventLoop = context.eventLoop
        self.flushQueue = broker.flushQueue(for: context.eventLoop)
        self.allocator = context.channel.allocator
        broker.register(session: self)
        let timeout = configuration.connectTimeout
        connectTimeoutTask = context.eventLoop.scheduleTask(in: timeout) {
            self.fail("no CONNECT within \(timeout.nanoseconds / 1_000_000) ms", countAsProtocolError: false)
        }
    }

    /// Forgets the context.
    public func handlerRemoved(context: ChannelHandlerContext) {
        beginClosing()
        self.context = nil
    }

    /// Feeds bytes to the decoder and handles every complete frame.
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if incomingHeartBeatInterval > 0 { lastReadAt = context.eventLoop.now }
        if inbound == nil || inbound!.readableBytes == 0 {
            inbound = bytes
        } else {
            inbound!.writeBuffer(&bytes)
        }
        inChannelRead = true
        decodeAvailable()
    }

    /// Flushes everything the frames of this read produced.
    public func channelReadComplete(context: ChannelHandlerContext) {
        inChannelRead = false
        flush()
        context.fireChannelReadComplete()
    }

    /// Cleans up: subscriptions leave the registry, unacknowledged user-queue messages go to other sessions.
    public func channelInactive(context: ChannelHandlerContext) {
        beginClosing()
        state = .closed
        heldWrite = nil
        forcedCloseTask?.cancel()
        context.fireChannelInactive()
    }

    /// Transport errors end the session: a ``StompTransportError`` with an ERROR frame first, others (reset, …) at once.
    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let violation = error as? StompTransportError {
            fail(violation.message)
            return
        }
        beginClosing()
        context.close(promise: nil)
    }

    // MARK: - Decoding

    private func decodeAvailable() {
        while state == .awaitingConnect || state == .connected, inbound != nil {
            let decoded: StompDecoded?
            do {
                decoded = try decoder.next(from: &inbound!)
            } catch {
                fail(error.message)
                return
            }
            guard let decoded else { break }
            if case .frame(let frame) = decoded { handle(frame) }
        }
        guard let buffered = inbound else { return }
        if buffered.readableBytes == 0 {
            // Idle sessions keep no receive buffer.
            inbound = nil
        } else if state == .authenticating, buffered.readableBytes > configuration.preAuthLimits.maxFrameSize {
            fail("too much data sent before CONNECTED", countAsProtocolError: true)
        } else if buffered.readerIndex > 4096 {
            inbound!.discardReadBytes()
        }
    }

    private func handle(_ frame: StompFrame) {
        if state == .awaitingConnect {
            guard frame.command == .connect || frame.command == .stomp else {
                fail("expected a CONNECT or STOMP frame first, got \(frame.command)", receiptId: frame.headers["receipt"])
                return
            }
            handleConnect(frame)
            return
        }
        if process(frame, receipt: frame.headers["receipt"]) == .completed, let receipt = frame.headers["receipt"] {
            writeReceipt(receipt)
        }
    }

    // MARK: - CONNECT

    private func handleConnect(_ frame: StompFrame) {
        let receipt = frame.headers["receipt"]
        let offered = frame.headers["accept-version"].map { header in
            header.split(separator: ",").compactMap { StompVersion(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
        } ?? [.v1_0]
        let supported = configuration.supportedVersions.filter { $0 <= maxVersion }.sorted()
        guard let negotiated = supported.last(where: offered.contains) else {
            let list = supported.map(\.rawValue).joined(separator: ",")
            fail("Supported protocol versions are \(list)", receiptId: receipt, extraHeaders: [("version", list)])
            return
        }
        var heartBeat = StompHeartBeat(send: 0, receive: 0)
        if negotiated > .v1_0, let header = frame.headers["heart-beat"] {
            guard let parsed = StompHeartBeat(header: header) else {
                fail("invalid heart-beat header '\(header)': expected two comma-separated numbers", receiptId: receipt)
                return
            }
            heartBeat = parsed
        }
        guard let token = Self.token(in: frame.headers) else {
            broker.statistics.authenticationFailures.add(1)
            fail(StompAuthenticationError.missingToken.message, receiptId: receipt, countAsProtocolError: false)
            return
        }
        state = .authenticating
        pendingConnect = PendingConnect(version: negotiated, heartBeat: heartBeat, receipt: receipt)
        let authenticator = broker.authenticator
        if let immediate = authenticator.authenticateImmediately(token: token) {
            finishConnect(immediate)
            return
        }
        let loop = eventLoop!
        Task {
            let result: Result<StompPrincipal, any Error>
            do {
                result = .success(try await authenticator.authenticate(token: token))
            } catch {
                result = .failure(error)
            }
            loop.execute { self.finishConnect(result) }
        }
    }

    /// The token from `Authorization: Bearer …` (either case of the header name), else from `passcode`.
    static func token(in headers: StompHeaders) -> String? {
        for name in ["Authorization", "authorization"] {
            guard let value = headers[name] else { continue }
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            if trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " {
                let token = trimmed.dropFirst(7).trimmingCharacters(in: .whitespaces)
                if !token.isEmpty { return token }
            }
        }
        if let passcode = headers["passcode"], !passcode.isEmpty { return passcode }
        return nil
    }

    private func finishConnect(_ result: Result<StompPrincipal, any Error>) {
        guard state == .authenticating, let pending = pendingConnect, let context else { return }
        pendingConnect = nil
        let principal: StompPrincipal
        switch result {
        case .failure(let error):
            broker.statistics.authenticationFailures.add(1)
            let message = (error as? StompAuthenticationError)?.message ?? StompAuthenticationError.invalidToken.message
            fail(message, receiptId: pending.receipt, countAsProtocolError: false)
            return
        case .success(let authenticated):
            principal = authenticated
        }
        connectTimeoutTask?.cancel()
        connectTimeoutTask = nil
        self.principal = principal
        version = pending.version
        decoder.version = pending.version
        decoder.limits = configuration.limits
        sessionId = broker.nextSessionId()
        state = .connected
        broker.statistics.sessionsConnected.add(1)

        let (outgoing, incoming) =
            pending.version > .v1_0
            ? StompHeartBeat.negotiate(local: configuration.heartBeat, remote: pending.heartBeat) : (0, 0)
        var headers = StompHeaders()
        headers.add("version", pending.version.rawValue)
        headers.add("heart-beat", "\(outgoing),\(incoming)")
        headers.add("session", sessionId)
        headers.add("server", configuration.serverName)
        headers.add("user-name", Self.singleLine(principal.name))
        writeFrame(StompFrame(.connected, headers: headers))
        if let receipt = pending.receipt { writeReceipt(receipt) }
        startHeartBeats(outgoing: outgoing, incoming: incoming, context: context)
        // Frames pipelined behind CONNECT waited in the buffer; decode them with the full limits now.
        let wasReading = inChannelRead
        inChannelRead = true
        decodeAvailable()
        inChannelRead = wasReading
        if !wasReading { flush() }
    }

    // MARK: - Frames of an authenticated session

    private enum Outcome { case completed, deferred, failed }

    private func process(_ frame: StompFrame, receipt: String?) -> Outcome {
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
            handleDisconnect(receipt: receipt)
            return .deferred
        case .connect, .stomp:
            fail("already connected", receiptId: receipt)
            return .failed
        default:
            fail("a client may not send \(frame.command) frames", receiptId: receipt)
            return .failed
        }
    }

    private func handleSend(_ frame: StompFrame, receipt: String?) -> Outcome {
        guard let raw = frame.headers["destination"], !raw.isEmpty else {
            fail("SEND requires a destination header", receiptId: receipt)
            return .failed
        }
        switch Destination(raw) {
        case .application(let path):
            guard path == Destination.sendMessage else {
                fail("unknown application destination '\(path)': the only one is \(Destination.sendMessage)", receiptId: receipt)
                return .failed
            }
            return handleChatMessage(frame, receipt: receipt)
        case .topic(let topic):
            let contentType = frame.headers["content-type"]
            if let contentType, !HeaderEscaping.isPlain(contentType, version: .v1_2) {
                fail("invalid content-type '\(Self.singleLine(contentType))'", receiptId: receipt)
                return .failed
            }
            broker.publishToTopic(topic, body: frame.body, contentType: contentType)
            return .completed
        case .userQueue, .otherUserQueue:
            fail("clients cannot SEND to user queues: send chat messages to \(Destination.sendMessage)", receiptId: receipt)
            return .failed
        case nil:
            fail(Destination.unsupportedMessage(raw), receiptId: receipt)
            return .failed
        }
    }

    private func handleChatMessage(_ frame: StompFrame, receipt: String?) -> Outcome {
        guard let principal else { return .failed }
        let message: ChatMessage
        do {
            message = try ChatMessageDecoding.decode(frame.body)
        } catch {
            fail("invalid chat message: \(error.message)", receiptId: receipt)
            return .failed
        }
        if let claimed = message.senderId, claimed != principal.id {
            fail("senderId does not match the authenticated user", receiptId: receipt)
            return .failed
        }
        let event = ChatEvent(accepting: message, from: principal.id)
        let loop = eventLoop!
        broker.publish(event, from: self) { result in
            if loop.inEventLoop {
                self.relayCompleted(result, receipt: receipt)
            } else {
                loop.execute { self.relayCompleted(result, receipt: receipt) }
            }
        }
        return .deferred
    }

    private func relayCompleted(_ result: Result<Void, any Error>, receipt: String?) {
        guard state == .connected else { return }
        switch result {
        case .success:
            if let receipt { writeReceipt(receipt) }
        case .failure(let error):
            let reason = (error as? ChatRelayError)?.description ?? "the relay did not accept it"
            fail("message could not be relayed: \(reason)", receiptId: receipt, countAsProtocolError: false)
        }
    }

    private func handleSubscribe(_ frame: StompFrame, receipt: String?) -> Outcome {
        guard let principal else { return .failed }
        guard let raw = frame.headers["destination"], !raw.isEmpty else {
            fail("SUBSCRIBE requires a destination header", receiptId: receipt)
            return .failed
        }
        guard let id = frame.headers["id"] ?? (version == .v1_0 ? raw : nil), !id.isEmpty else {
            fail("SUBSCRIBE requires an id header", receiptId: receipt)
            return .failed
        }
        guard subscriptions[id] == nil else {
            fail("subscription id '\(id)' is already in use in this session", receiptId: receipt)
            return .failed
        }
        guard subscriptions.count < configuration.maxSubscriptionsPerSession else {
            fail("too many subscriptions (limit \(configuration.maxSubscriptionsPerSession))", receiptId: receipt)
            return .failed
        }
        guard let ackMode = AckMode(header: frame.headers["ack"]) else {
            fail("invalid ack mode '\(frame.headers["ack"] ?? "")': use auto, client or client-individual", receiptId: receipt)
            return .failed
        }
        let owner: String?
        switch Destination(raw) {
        case .topic:
            owner = nil
        case .userQueue:
            owner = principal.id
        case .otherUserQueue:
            fail("cannot subscribe to another user's queue '\(raw)': subscribe to /user/queue/... for your own messages", receiptId: receipt)
            return .failed
        case .application:
            fail("cannot subscribe to '\(raw)': /app destinations accept SEND only", receiptId: receipt)
            return .failed
        case nil:
            fail(Destination.unsupportedMessage(raw), receiptId: receipt)
            return .failed
        }
        let subscription = Subscription(
            id: id, destination: raw, userQueueOwner: owner, ackMode: ackMode, session: self, eventLoop: eventLoop,
            version: version)
        subscriptions[id] = subscription
        broker.add(subscription)
        return .completed
    }

    private func handleUnsubscribe(_ frame: StompFrame, receipt: String?) -> Outcome {
        guard let id = frame.headers["id"] ?? (version == .v1_0 ? frame.headers["destination"] : nil) else {
            fail("UNSUBSCRIBE requires an id header", receiptId: receipt)
            return .failed
        }
        guard let subscription = subscriptions.removeValue(forKey: id) else {
            fail("no subscription with id '\(id)' in this session", receiptId: receipt)
            return .failed
        }
        subscription.isActive.store(false, ordering: .relaxed)
        broker.remove(subscription)
        let orphaned = unacked.filter { $0.value.subscription === subscription }
        for key in orphaned.keys { unacked[key] = nil }
        broker.redeliver(orphaned.values.sorted { $0.sequence < $1.sequence }, excluding: self)
        return .completed
    }

    private func handleAcknowledgement(_ frame: StompFrame, receipt: String?) -> Outcome {
        let command = frame.command
        let idHeader = version == .v1_2 ? "id" : "message-id"
        guard let ackId = frame.headers[idHeader] else {
            fail("\(command) requires a\(version == .v1_2 ? "n" : "") \(idHeader) header", receiptId: receipt)
            return .failed
        }
        guard let entry = unacked[ackId] else {
            fail("no unacknowledged message with id '\(ackId)'", receiptId: receipt)
            return .failed
        }
        if version == .v1_1, frame.headers["subscription"] != entry.subscription.id {
            fail("\(command) for message '\(ackId)' must name its subscription '\(entry.subscription.id)'", receiptId: receipt)
            return .failed
        }
        var settled: [PendingMessage]
        if entry.subscription.ackMode == .client {
            // Cumulative: everything of this subscription up to and including this message.
            let keys = unacked.compactMap { key, value in
                value.subscription === entry.subscription && value.sequence <= entry.sequence ? key : nil
            }
            settled = keys.compactMap { unacked.removeValue(forKey: $0) }
            settled.sort { $0.sequence < $1.sequence }
        } else {
            unacked[ackId] = nil
            settled = [entry]
        }
        if command == .nack {
            broker.redeliver(settled, excluding: self)
        }
        return .completed
    }

    private func buffer(_ frame: StompFrame, in transaction: String, receipt: String?) -> Outcome {
        guard transactions[transaction] != nil else {
            fail("unknown transaction '\(transaction)'", receiptId: receipt)
            return .failed
        }
        guard transactions[transaction]!.count < configuration.maxFramesPerTransaction else {
            fail("too many frames in transaction '\(transaction)' (limit \(configuration.maxFramesPerTransaction))", receiptId: receipt)
            return .failed
        }
        var held = frame
        held.headers["transaction"] = nil
        held.headers["receipt"] = nil
        transactions[transaction]!.append(held)
        return .completed
    }

    private func handleTransaction(_ frame: StompFrame, receipt: String?) -> Outcome {
        guard let transaction = frame.headers["transaction"], !transaction.isEmpty else {
            fail("\(frame.command) requires a transaction header", receiptId: receipt)
            return .failed
        }
        switch frame.command {
        case .begin:
            guard transactions[transaction] == nil else {
                fail("transaction '\(transaction)' has already begun", receiptId: receipt)
                return .failed
            }
            transactions[transaction] = []
            return .completed
        default:
            guard let frames = transactions.removeValue(forKey: transaction) else {
                fail("unknown transaction '\(transaction)'", receiptId: receipt)
                return .failed
            }
            if frame.command == .commit {
                for held in frames where state == .connected {
                    _ = process(held, receipt: nil)
                }
            }
            return state == .connected ? .completed : .failed
        }
    }

    private func handleDisconnect(receipt: String?) {
        beginClosing()
        if let receipt {
            writeReceipt(receipt)
            flush(closingAfter: true)
            scheduleForcedClose()
        } else {
            flush(closingAfter: true)
        }
    }

    // MARK: - Delivery

    /// Writes one MESSAGE for `delivery` on `subscription`; called on this session's event loop.
    func receive(_ delivery: Delivery, on subscription: Subscription, redelivered: Bool) {
        // The flag, not a lookup by id: one relaxed load instead of hashing the id for every delivery.
        guard state == .connected, context != nil, subscription.isActive.load(ordering: .relaxed) else {
            if subscription.userQueueOwner != nil {
                // Gone between lookup and delivery: a user-queue message still belongs to another session.
                broker.redeliver([PendingMessage(subscription: subscription, delivery: delivery, sequence: 0)], excluding: self)
            }
            return
        }
        messageCounter &+= 1
        var frame = framing.makeBuffer(
            capacity: subscription.messagePrefix.readableBytes + delivery.headerTail.readableBytes
                + delivery.body.readableBytes + 64,
            allocator: allocator)
        frame.writeImmutableBuffer(subscription.messagePrefix)
        frame.writeStaticString("message-id:")
        frame.writeDecimal(messageCounter)
        frame.writeStaticString("\n")
        if subscription.ackMode != .auto {
            let messageId = String(messageCounter)
            if version == .v1_2 {
                frame.writeStaticString("ack:")
                frame.writeString(messageId)
                frame.writeStaticString("\n")
            }
            unacked[messageId] = PendingMessage(subscription: subscription, delivery: delivery, sequence: messageCounter)
        }
        if redelivered { frame.writeStaticString("redelivered:true\n") }
        frame.writeImmutableBuffer(delivery.headerTail)
        frame.writeImmutableBuffer(delivery.body)
        frame.writeInteger(UInt8(0))
        writeOutbound(&frame)
        if unacked.count > configuration.maxUnackedMessagesPerSession {
            disconnectSlowConsumer("more than \(configuration.maxUnackedMessagesPerSession) unacknowledged messages")
        }
    }

    // MARK: - Writing

    private func writeFrame(_ frame: StompFrame) {
        var buffer = framing.makeBuffer(capacity: 256, allocator: allocator)
        StompEncoder.encode(frame, version: version, into: &buffer)
        writeOutbound(&buffer)
    }

    private func writeReceipt(_ receiptId: String) {
        var buffer = framing.makeBuffer(capacity: 24 + receiptId.utf8.count, allocator: allocator)
        buffer.writeStaticString("RECEIPT\nreceipt-id:")
        buffer.writeString(HeaderEscaping.escape(receiptId, version: version))
        buffer.writeStaticString("\n\n\0")
        writeOutbound(&buffer)
    }

    /// Frames `buffer` for the transport (in place: it is uniquely ours here) and queues it.
    private func writeOutbound(_ buffer: inout ByteBuffer) {
        guard let context else { return }
        framing.seal(&buffer)
        if let previous = heldWrite.take() {
            context.write(wrapOutboundOut(previous), promise: nil)
        }
        heldWrite = buffer
        unflushedBytes += buffer.readableBytes
        wroteSinceHeartBeat = true
        if state == .connected, unflushedBytes + inFlightBytes > configuration.outboundBufferLimit {
            disconnectSlowConsumer("more than \(configuration.outboundBufferLimit) bytes waiting to be sent")
            return
        }
        if !inChannelRead, !flushScheduled {
            // Deliveries of one event-loop tick share one flush, and the sessions of one loop one task.
            flushScheduled = true
            flushQueue?.enqueue(self)
        }
    }

    /// The flush ``LoopFlushQueue`` scheduled.
    func flushQueued() {
        flushScheduled = false
        flush()
    }

    private func flush(closingAfter: Bool = false) {
        guard let context else { return }
        guard let last = heldWrite else {
            if closingAfter { context.close(promise: nil) }
            return
        }
        heldWrite = nil
        let batch = unflushedBytes
        unflushedBytes = 0
        inFlightBytes += batch
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { _ in
            self.inFlightBytes -= batch
            if closingAfter { self.context?.close(promise: nil) }
        }
        context.writeAndFlush(wrapOutboundOut(last), promise: promise)
    }

    // MARK: - Heart-beats

    private func startHeartBeats(outgoing: Int, incoming: Int, context: ChannelHandlerContext) {
        if outgoing > 0 {
            // Checking every half interval keeps any silence at most one interval long.
            let interval = TimeAmount.milliseconds(Int64(max(1, outgoing / 2)))
            outgoingHeartBeatTask = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                self.sendHeartBeatIfIdle()
            }
        }
        if incoming > 0 {
            incomingHeartBeatInterval = incoming
            lastReadAt = context.eventLoop.now
            let tolerance = TimeAmount.milliseconds(Int64((Double(incoming) * configuration.heartBeatTolerance).rounded(.up)))
            let interval = TimeAmount.milliseconds(Int64(incoming))
            incomingHeartBeatTask = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                self.checkClientAlive(tolerance: tolerance)
            }
        }
    }

    private func sendHeartBeatIfIdle() {
        guard state == .connected else { return }
        if wroteSinceHeartBeat {
            wroteSinceHeartBeat = false
        } else {
            var heartBeat = framing.makeBuffer(capacity: 1, allocator: allocator)
            heartBeat.writeInteger(UInt8(ascii: "\n"))
            writeOutbound(&heartBeat)
        }
    }

    private func checkClientAlive(tolerance: TimeAmount) {
        guard state == .connected, let context else { return }
        let silence = context.eventLoop.now - lastReadAt
        if silence > tolerance {
            fail(
                "heart-beat timeout: nothing received for \(silence.nanoseconds / 1_000_000) ms "
                    + "(negotiated \(incomingHeartBeatInterval) ms)", countAsProtocolError: false)
        }
    }

    // MARK: - Errors and closing

    private func disconnectSlowConsumer(_ reason: String) {
        guard state == .connected else { return }
        broker.statistics.slowConsumerDisconnects.add(1)
        fail("slow consumer: \(reason)", countAsProtocolError: false)
    }

    /// Sends ERROR with `message` (plus `receipt-id` and extra headers), then closes the connection.
    func fail(
        _ message: String, receiptId: String? = nil, extraHeaders: [(String, String)] = [],
        countAsProtocolError: Bool = true
    ) {
        guard state != .closing, state != .closed, context != nil else { return }
        if countAsProtocolError { broker.statistics.protocolErrors.add(1) }
        beginClosing()
        var headers = StompHeaders()
        headers.add("message", Self.singleLine(message))
        if let receiptId { headers.add("receipt-id", receiptId) }
        for (name, value) in extraHeaders { headers.add(name, value) }
        headers.add("content-type", "text/plain")
        writeFrame(StompFrame(.error, headers: headers, body: message))
        flush(closingAfter: true)
        scheduleForcedClose()
    }

    private func scheduleForcedClose() {
        guard forcedCloseTask == nil, let context else { return }
        forcedCloseTask = context.eventLoop.scheduleTask(in: configuration.closeGracePeriod) {
            self.context?.close(promise: nil)
        }
    }

    /// Leaves the registry and hands unacknowledged user-queue messages to the user's other sessions.
    private func beginClosing() {
        guard state != .closing, state != .closed else { return }
        state = .closing
        connectTimeoutTask?.cancel()
        outgoingHeartBeatTask?.cancel()
        incomingHeartBeatTask?.cancel()
        let ended = subscriptions.values
        subscriptions = [:]
        broker.unregister(session: self, subscriptions: ended)
        let pending = unacked.values.sorted { $0.sequence < $1.sequence }
        unacked = [:]
        transactions = [:]
        inbound = nil
        broker.redeliver(pending, excluding: self)
    }

    private static func singleLine(_ text: String) -> String {
        guard text.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return text }
        return text.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }).joined(separator: " ")
    }
}

extension ByteBuffer {
    /// Writes a non-negative integer in decimal without building a `String` (once per delivered MESSAGE).
    mutating func writeDecimal(_ value: Int) {
        precondition(value >= 0)
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for any Int
        withUnsafeMutableBytes(of: &scratch) { digits in
            var rest = value
            var start = digits.count
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            writeBytes(UnsafeRawBufferPointer(rebasing: digits[start...]))
        }
    }
}
