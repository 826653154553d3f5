import NIOConcurrencyHelpers
import NIOCore
import ParleyCodec

/// The producer type behind ``StompInboundStream``.
typealias StompInboundProducer = NIOThrowingAsyncSequenceProducer<
    StompDecoded,
    any Error,
    NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark,
    InboundReadGate
>

/// Turns the consumer's demand into channel reads: when the buffer of decoded frames reaches its high watermark
/// the handler stops calling `read()`, so the kernel's receive window, not our memory, absorbs a fast peer.
final class InboundReadGate: NIOAsyncSequenceProducerDelegate, Sendable {
    private let handler = NIOLockedValueBox<NIOLoopBound<InboundBridgeHandler>?>(nil)

    func attach(_ bridge: NIOLoopBound<InboundBridgeHandler>) {
        handler.withLockedValue { $0 = bridge }
    }

    func produceMore() {
        guard let bridge = handler.withLockedValue({ $0 }) else { return }
        bridge.eventLoop.execute { bridge.value.resumeReading() }
    }

    func didTerminate() {
        // The consumer dropped its iterator: keep the connection as it is; later frames are simply discarded.
        produceMore()
    }

    /// Installs `router` on the bridge's event loop (see ``InboundBridgeHandler/messageRouter``). Installed before
    /// CONNECT is written, it is in place before any reply can be read.
    func installMessageRouter(_ router: @escaping @Sendable (StompFrame) -> Bool) {
        guard let bridge = handler.withLockedValue({ $0 }) else { return }
        bridge.eventLoop.execute { bridge.value.messageRouter = router }
    }
}

/// Last inbound handler of a client pipeline: decodes the STOMP bytes of each read in place and yields every
/// frame and heart-beat into the connection's inbound sequence, ends it when the peer closes and fails it with
/// the decoding (or transport) error that closed it.
///
/// Decoding here rather than in a `ByteToMessageHandler` in front saves a boxed `NIOAny` and a dynamic cast per
/// frame, which over WebSocket (one STOMP frame per message) was a visible share of a load generator's CPU.
final class InboundBridgeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let source: StompInboundProducer.Source
    private var decoder: StompDecoder
    /// Bytes of a frame not complete yet.
    private var partial: ByteBuffer?
    private let versionBox: NIOLockedValueBox<StompVersion>
    private let followNegotiatedVersion: Bool
    private var context: ChannelHandlerContext?
    private var consumerWantsMore = true
    private var readPending = false
    private var finished = false
    private var pending: [StompDecoded] = []
    /// Offered every MESSAGE first, on the event loop; returns true when it consumed the frame (a subscription
    /// with an `onMessage` handler), which then skips the inbound sequence and the reader task's hop.
    var messageRouter: (@Sendable (StompFrame) -> Bool)?

    init(
        source: StompInboundProducer.Source,
        decoder: StompDecoder,
        versionBox: NIOLockedValueBox<StompVersion>,
        followNegotiatedVersion: Bool
    ) {
        self.source = source
        self.decoder = decoder
        self.versionBox = versionBox
        self.followNegotiatedVersion = followNegotiatedVersion
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        finish(error: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        var bytes = unwrapInboundIn(data)
        if var earlier = partial.take() {
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        // The decoder is worked on as a local: one exclusivity check per read instead of several per frame.
        var decoder = self.decoder
        defer { self.decoder = decoder }
        do {
            while let element = try decoder.next(from: &bytes) {
                if followNegotiatedVersion, case .frame(let frame) = element, frame.command == .connected {
                    // Switch escaping rules before the next frame of the same read is decoded.
                    let version = frame.headers["version"].flatMap(StompVersion.init(rawValue:)) ?? .v1_0
                    decoder.version = version
                    versionBox.withLockedValue { $0 = version }
                }
                if let messageRouter, case .frame(let frame) = element, frame.command == .message, messageRouter(frame) {
                    continue
                }
                // Yielded in one batch at channelReadComplete: one consumer wake-up per socket read, not per frame.
                pending.append(element)
            }
        } catch {
            finish(error: error)
            context.close(promise: nil)
            return
        }
        if bytes.readableBytes > 0 {
            bytes.discardReadBytes()
            partial = bytes
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushPending()
        context.fireChannelReadComplete()
    }

    private func flushPending() {
        guard !pending.isEmpty else { return }
        defer { pending.removeAll(keepingCapacity: true) }
        guard !finished else { return }
        if case .stopProducing = source.yield(contentsOf: pending) {
            consumerWantsMore = false
        }
    }

    func read(context: ChannelHandlerContext) {
        if consumerWantsMore {
            context.read()
        } else {
            readPending = true
        }
    }

    func resumeReading() {
        consumerWantsMore = true
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    /// The peer closed: a frame cut off mid-way is an error (`leftoverDataWhenDone`), never silent.
    func channelInactive(context: ChannelHandlerContext) {
        if decoder.isInsideFrame || (partial?.readableBytes ?? 0) > 0 {
            finish(error: ByteToMessageDecoderError.leftoverDataWhenDone(partial ?? ByteBuffer()))
        } else {
            finish(error: nil)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(error: error)
        context.close(promise: nil)
    }

    private func finish(error: (any Error)?) {
        guard !finished else { return }
        flushPending()
        finished = true
        if let error { source.finish(error) } else { source.finish() }
    }
}

/// The frames and heart-beats a peer sends, in order. Ends (returns nil) when the peer closes the connection;
/// throws the `StompDecodingError` (or transport error) that ended it otherwise. Single consumer.
public struct StompInboundStream: AsyncSequence, Sendable {
    /// A decoded frame or a heart-beat.
    public typealias Element = StompDecoded

    let producer: StompInboundProducer

    /// Creates the one iterator this sequence supports.
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: producer.makeAsyncIterator())
    }

    /// Iterator over inbound elements.
    public struct Iterator: AsyncIteratorProtocol {
        var base: StompInboundProducer.AsyncIterator

        /// The next frame or heart-beat; nil once the peer closed.
        public mutating func next() async throws -> StompDecoded? {
            try await base.next()
        }
    }
}
