import NIOCore
import ParleyCodec

/// One STOMP session on a channel: feeds a ``StompSessionStateMachine`` with the transport's bytes, timer ticks
/// and completions, and performs the actions it returns (writes and flush batching, timers, the broker's registry,
/// applications). Every transport (TCP, WebSocket, …) puts this handler behind whatever turns its wire format into
/// STOMP bytes.
///
/// Inbound it takes `ByteBuffer`s in any chunking; outbound it writes one `ByteBuffer` per STOMP frame, with
/// `headroom` bytes reserved in front for a transport header (a WebSocket frame header, say). Loop-confined: the
/// broker reaches it through `NIOLoopBound` on its event loop.
public final class StompSessionHandler: ChannelInboundHandler, RemovableChannelHandler {
    /// Raw STOMP bytes from the transport.
    public typealias InboundIn = ByteBuffer
    /// Encoded STOMP frames (or a heart-beat EOL), one per write.
    public typealias OutboundOut = ByteBuffer

    private let broker: StompBroker
    private let connectDeadline: NIODeadline?
    private var machine: StompSessionStateMachine
    private var context: ChannelHandlerContext?
    private var sessionID = BrokerSessionID(rawValue: 0)
    private var registered: [String: Subscription] = [:]
    private var flushQueue: LoopFlushQueue?
    /// This handler as the broker and its subscriptions hold it.
    private var bound: NIOLoopBound<StompSessionHandler>?
    private var timers: [SessionTimer: Scheduled<Void>] = [:]
    private var forcedClose: Scheduled<Void>?
    private var writer: OutboundBatch
    private var memory = MemoryReservation()
    private var inChannelRead = false

    init(broker: StompBroker, maxVersion: StompVersion, headroom: Int, connectDeadline: NIODeadline?) {
        self.broker = broker
        self.connectDeadline = connectDeadline
        self.writer = OutboundBatch(headroom: headroom)
        self.machine = StompSessionStateMachine(
            configuration: .init(
                broker: broker.configuration, maxVersion: maxVersion, applicationDestinations: broker.applicationDestinations,
                applicationTopics: broker.applicationTopics))
    }

    // MARK: - Channel events

    /// Registers the session with the broker and starts the CONNECT timeout.
    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        writer.allocator = context.channel.allocator
        flushQueue = broker.flushQueue(for: context.eventLoop)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.bound = bound
        sessionID = broker.register(bound)
        perform(machine.sessionStarted())
    }

    /// Ends the session and forgets the context.
    public func handlerRemoved(context: ChannelHandlerContext) {
        perform(machine.connectionClosed())
        self.context = nil
    }

    /// Hands the bytes to the machine and handles every complete frame.
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        machine.bytesReceived(unwrapInboundIn(data), at: context.eventLoop.now)
        inChannelRead = true
        readFrames()
    }

    /// Flushes everything the frames of this read produced.
    public func channelReadComplete(context: ChannelHandlerContext) {
        inChannelRead = false
        flush()
        context.fireChannelReadComplete()
    }

    /// Leaves the registry; unacknowledged user-queue messages go to the user's other sessions.
    public func channelInactive(context: ChannelHandlerContext) {
        perform(machine.connectionClosed())
        writer.abandonQueued()
        forcedClose?.cancel()
        context.fireChannelInactive()
    }

    /// Frames parked while the channel was not writable go out now.
    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        writer.writable = context.channel.isWritable
        if writer.writable {
            for buffer in writer.releaseBacklog() { context.write(wrapOutboundOut(buffer), promise: nil) }
            flush(closingAfter: writer.closeWhenDrained)
        }
        context.fireChannelWritabilityChanged()
    }

    /// A ``StompTransportError`` ends the session with an ERROR frame first; other errors (reset, …) at once.
    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let violation = error as? StompTransportError {
            perform(machine.transportViolation(violation.message))
        } else {
            perform(machine.connectionClosed())
            context.close(promise: nil)
        }
    }

    // MARK: - Calls from the broker (on this event loop)

    /// Writes one MESSAGE for `message` on `subscription`, if the machine still wants it.
    func deliver(_ message: BrokerMessage, on subscription: Subscription, redelivered: Bool) {
        let decision = machine.messageArrived(
            message, on: subscription.info, isActive: context != nil && subscription.isActive.load(ordering: .relaxed))
        switch decision {
        case .write(let messageId, let ackHeader, let then):
            write(writer.messageFrame(message, prefix: subscription.messagePrefix, id: messageId, ackHeader: ackHeader, redelivered: redelivered))
            perform(then)
            accountMemory()
        case .handBack(let pending):
            broker.redeliver([pending], excluding: sessionID)
        case .drop:
            break
        }
    }

    /// Sends ERROR with `reason` and closes (server shutdown).
    func shutDown(reason: String) {
        guard context != nil else { return }
        perform(machine.shutDown(reason: reason))
    }

    // MARK: - Performing actions

    private func readFrames() {
        while let actions = machine.nextFrame() { perform(actions) }
        accountMemory()
        armFrameDeadline()
    }

    /// Keeps this session's share of the node's memory budget in step with what it holds.
    private func accountMemory() {
        guard machine.isOpen, !memory.cover(machine.memoryUsage, from: broker.memory) else { return }
        perform(machine.nodeBudgetExceeded())
    }

    /// Times the unfinished frame at the end of the input, if there is one.
    private func armFrameDeadline() {
        guard let since = machine.partialFrameSince, timers[.frameDeadline] == nil, let now = context?.eventLoop.now else { return }
        schedule(.frameDeadline, in: since + broker.configuration.frameCompletionTimeout - now, repeating: false) { session in
            let actions = session.machine.frameDeadlinePassed(now: session.context?.eventLoop.now ?? .now())
            defer { session.armFrameDeadline() }
            return actions
        }
    }

    private func perform(_ actions: [SessionAction]) {
        for action in actions { perform(action) }
    }

    private func perform(_ action: SessionAction) {
        guard let context else { return }
        switch action {
        case .scheduleConnectTimeout(let timeout):
            let delay = connectDeadline.map { $0 - context.eventLoop.now } ?? timeout
            schedule(.connect, in: delay, repeating: false) { $0.machine.connectTimedOut() }
        case .authenticate(let token):
            broker.authenticator.verify(token, on: context.eventLoop) { self.authenticationFinished($0) }
        case .startSession(let sendEvery, let checkEvery):
            cancelTimers()
            broker.statistics.sessionsConnected.add(1)
            if let sendEvery { schedule(.heartBeatSend, in: sendEvery, repeating: true) { $0.machine.heartBeatSendDue() } }
            if let checkEvery {
                schedule(.heartBeatCheck, in: checkEvery, repeating: true) { $0.machine.heartBeatCheckDue(now: context.eventLoop.now) }
            }
        case .write(let frame):
            // An ERROR to a client that stopped reading: drop the frames it has not started on, not the ERROR.
            if frame.command == .error, !writer.writable { writer.abandonQueued() }
            write(writer.encoded(frame, version: machine.version))
        case .writeReceipt(let receiptId):
            write(writer.receiptFrame(receiptId, version: machine.version))
        case .writeHeartBeat:
            write(writer.heartBeat())
        case .subscribe(let info):
            guard let bound else { return }
            let subscription = Subscription(info, sessionID: sessionID, session: bound, version: machine.version)
            registered[info.id] = subscription
            broker.add(subscription)
        case .unsubscribe(let id, let unacknowledged):
            if let subscription = registered.removeValue(forKey: id) {
                subscription.isActive.store(false, ordering: .relaxed)
                broker.remove(subscription)
            }
            broker.redeliver(unacknowledged, excluding: sessionID)
        case .publish(let destination, let message):
            broker.deliver(message, to: .topic(destination))
        case .dispatch(let frame, let receipt):
            dispatch(frame, receipt: receipt, on: context.eventLoop)
        case .redeliver(let messages):
            broker.redeliver(messages, excluding: sessionID)
        case .endSession(_, let unacknowledged):
            cancelTimers()
            let ended = registered.values
            registered = [:]
            for subscription in ended { subscription.isActive.store(false, ordering: .relaxed) }
            broker.unregister(sessionID, subscriptions: ended)
            memory.releaseAll(to: broker.memory)
            broker.redeliver(unacknowledged, excluding: sessionID)
        case .record(let failure):
            broker.statistics.record(failure)
        case .closeAfterFlush(let forceAfterGrace):
            flush(closingAfter: true)
            if forceAfterGrace, forcedClose == nil {
                forcedClose = context.eventLoop.assumeIsolated().scheduleTask(in: broker.configuration.closeGracePeriod) {
                    self.context?.close(promise: nil)
                }
            }
        }
    }

    private func authenticationFinished(_ result: Result<StompPrincipal, any Error>) {
        guard let context else { return }
        switch result {
        case .success(let principal):
            perform(machine.authenticated(as: principal, sessionId: broker.sessionName(sessionID), now: context.eventLoop.now))
        case .failure(let error):
            perform(machine.authenticationFailed(error as? StompAuthenticationError ?? .invalidToken))
        }
        // Frames pipelined behind CONNECT waited in the buffer; handle them with the full limits now.
        let wasReading = inChannelRead
        inChannelRead = true
        readFrames()
        inChannelRead = wasReading
        if !wasReading { flush() }
    }

    private func dispatch(_ frame: StompFrame, receipt: String?, on loop: any EventLoop) {
        guard let destination = frame.headers["destination"], let application = broker.application(for: destination),
            let principal = machine.principal
        else { return }
        let request = ApplicationRequest(
            destination: destination, headers: frame.headers, body: frame.body, principal: principal, session: sessionID,
            eventLoop: loop)
        application.handle(request) { self.perform(self.machine.applicationCompleted(receipt: receipt, $0)) }
    }

    private enum SessionTimer { case connect, heartBeatSend, heartBeatCheck, frameDeadline }

    /// Runs `tick` after `delay` (and every `delay` after that, while connected) and performs what it returns.
    private func schedule(
        _ timer: SessionTimer, in delay: TimeAmount, repeating: Bool, _ tick: @escaping (StompSessionHandler) -> [SessionAction]
    ) {
        guard let loop = context?.eventLoop.assumeIsolated() else { return }
        timers[timer] = loop.scheduleTask(in: delay) {
            self.timers[timer] = nil
            self.perform(tick(self))
            if repeating, self.machine.isConnected { self.schedule(timer, in: delay, repeating: true, tick) }
        }
    }

    private func cancelTimers() {
        for timer in timers.values { timer.cancel() }
        timers = [:]
    }

    // MARK: - Writing

    /// Queues one frame; deliveries of one event-loop tick share one flush, and the sessions of one loop one task.
    private func write(_ buffer: ByteBuffer) {
        guard let context else { return }
        if let previous = writer.hold(buffer) { context.write(wrapOutboundOut(previous), promise: nil) }
        if let actions = machine.wrote(pendingBytes: writer.pendingBytes) {
            perform(actions)
            return
        }
        if !inChannelRead, !writer.flushScheduled {
            writer.flushScheduled = true
            flushQueue?.enqueue(self)
        }
    }

    /// The flush ``LoopFlushQueue`` scheduled.
    func flushQueued() {
        writer.flushScheduled = false
        flush()
    }

    private func flush(closingAfter: Bool = false) {
        guard let context else { return }
        guard let (last, batch) = writer.takeBatch() else {
            if closingAfter, writer.backlog.isEmpty { context.close(promise: nil) } else if closingAfter { writer.closeWhenDrained = true }
            return
        }
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { _ in
            self.writer.inFlightBytes -= batch
            self.machine.drained(pendingBytes: self.writer.pendingBytes)
            self.accountMemory()
            if closingAfter { self.context?.close(promise: nil) }
        }
        context.writeAndFlush(wrapOutboundOut(last), promise: promise)
    }
}
