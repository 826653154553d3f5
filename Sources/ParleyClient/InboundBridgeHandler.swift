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
}

/// Last inbound handler of a client pipeline: yields every decoded element into the connection's inbound
/// sequence, ends it when the peer closes and fails it with the decoding (or transport) error that closed it.
final class InboundBridgeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = StompDecoded
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let source: StompInboundProducer.Source
    private let decoder: StompFrameDecoder
    private let versionBox: NIOLockedValueBox<StompVersion>
    private let followNegotiatedVersion: Bool
    private var context: ChannelHandlerContext?
    private var consumerWantsMore = true
    private var readPending = false
    private var finished = false
    private var pending: [StompDecoded] = []

    init(
        source: StompInboundProducer.Source,
        decoder: StompFrameDecoder,
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
        let decoded = unwrapInboundIn(data)
        if followNegotiatedVersion, case .frame(let frame) = decoded, frame.command == .connected {
            // Switch escaping rules before the next frame of the same read is decoded.
            let version = frame.headers["version"].flatMap(StompVersion.init(rawValue:)) ?? .v1_0
            decoder.version = version
            versionBox.withLockedValue { $0 = version }
        }
        guard !finished else { return }
        // Yielded in one batch at channelReadComplete: one consumer wake-up per socket read, not per frame.
        pending.append(decoded)
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

    func channelInactive(context: ChannelHandlerContext) {
        finish(error: nil)
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
