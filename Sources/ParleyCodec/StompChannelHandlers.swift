import NIOCore

/// Pipeline decoder: bytes in, `StompDecoded` out. Keep a reference to set `version` after negotiation.
public final class StompFrameDecoder: NIOSingleStepByteToMessageDecoder {
    /// Frames and heart-beats.
    public typealias InboundOut = StompDecoded

    /// The wrapped streaming decoder.
    public var decoder: StompDecoder

    /// Header escaping rules of the wrapped decoder; set after CONNECT/CONNECTED.
    public var version: StompVersion {
        get { decoder.version }
        set { decoder.version = newValue }
    }

    /// A decoder for `version` with `limits`.
    public init(version: StompVersion = .v1_2, limits: StompLimits = .default) {
        decoder = StompDecoder(version: version, limits: limits)
    }

    /// Decodes the next frame or heart-beat; throws `StompDecodingError`.
    public func decode(buffer: inout ByteBuffer) throws -> StompDecoded? {
        try decoder.next(from: &buffer)
    }

    /// At end of input, decodes what is complete; a peer that stopped mid-frame gets
    /// `ByteToMessageDecoderError.leftoverDataWhenDone`, so truncation is never silent.
    public func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> StompDecoded? {
        if let item = try decoder.next(from: &buffer) { return item }
        if seenEOF && (decoder.isInsideFrame || buffer.readableBytes > 0) {
            let leftover = buffer
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            throw ByteToMessageDecoderError.leftoverDataWhenDone(leftover)
        }
        return nil
    }
}

/// Pipeline encoder: `StompFrame` in, wire bytes out.
public final class StompFrameEncoder: MessageToByteEncoder {
    /// Frames to write.
    public typealias OutboundIn = StompFrame

    /// Escaping rules used for headers; set after CONNECT/CONNECTED.
    public var version: StompVersion

    /// An encoder for `version`.
    public init(version: StompVersion = .v1_2) {
        self.version = version
    }

    /// Appends the frame's wire bytes to `out`.
    public func encode(data: StompFrame, out: inout ByteBuffer) throws {
        StompEncoder.encode(data, version: version, into: &out)
    }
}

/// Pipeline encoder for `StompDecoded`: frames and heart-beats through one handler, so a session can write its
/// heart-beats without a second path to the socket.
public final class StompDecodedEncoder: MessageToByteEncoder {
    /// Frames and heart-beats to write.
    public typealias OutboundIn = StompDecoded

    /// Escaping rules used for headers; set after CONNECT/CONNECTED.
    public var version: StompVersion

    /// An encoder for `version`.
    public init(version: StompVersion = .v1_2) {
        self.version = version
    }

    /// Appends the frame's wire bytes, or one LF for a heart-beat, to `out`.
    public func encode(data: StompDecoded, out: inout ByteBuffer) throws {
        switch data {
        case .frame(let frame): StompEncoder.encode(frame, version: version, into: &out)
        case .heartBeat: out.writeInteger(StompEncoder.heartBeat)
        }
    }
}
