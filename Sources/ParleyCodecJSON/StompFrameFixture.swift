import Foundation
import NIOCore
import ParleyCodec

/// One golden frame fixture's expectation (`NAME.json` next to the raw bytes in `NAME.stomp`).
/// The format is documented in `Fixtures/frames/README.md`.
public struct StompFrameFixture: Codable, Hashable, Sendable {
    /// What the case checks, for people reading the fixture.
    public var description: String?
    /// The STOMP version the decoder is set to.
    public var version: String
    /// Limit overrides; absent fields keep `StompLimits.default`.
    public var limits: Limits?
    /// Items decoded, in order, before the end of input or the error.
    public var frames: [StompDecodedJSON]
    /// Expected `StompDecodingError.Kind` raw value, when decoding must fail.
    public var error: String?
    /// True when the input ends inside a frame (decoder waits for more bytes, no error).
    public var incomplete: Bool?

    /// Limit overrides as JSON.
    public struct Limits: Codable, Hashable, Sendable {
        /// Overrides `StompLimits.maxFrameSize`.
        public var maxFrameSize: Int?
        /// Overrides `StompLimits.maxBodySize`.
        public var maxBodySize: Int?
        /// Overrides `StompLimits.maxHeaderCount`.
        public var maxHeaderCount: Int?
        /// Overrides `StompLimits.maxHeaderLineLength`.
        public var maxHeaderLineLength: Int?
        /// Overrides `StompLimits.maxCommandLength`.
        public var maxCommandLength: Int?

        /// The defaults with these overrides applied.
        public var resolved: StompLimits {
            var limits = StompLimits.default
            if let maxFrameSize { limits.maxFrameSize = maxFrameSize }
            if let maxBodySize { limits.maxBodySize = maxBodySize }
            if let maxHeaderCount { limits.maxHeaderCount = maxHeaderCount }
            if let maxHeaderLineLength { limits.maxHeaderLineLength = maxHeaderLineLength }
            if let maxCommandLength { limits.maxCommandLength = maxCommandLength }
            return limits
        }
    }

    /// The expected outcome in comparable form.
    public var expected: StompDecodeOutcome {
        StompDecodeOutcome(
            items: frames.map(\.value), errorKind: error, incomplete: incomplete ?? false)
    }

    /// The version as an enum; throws for an unknown version string.
    public func stompVersion() throws(StompJSONError) -> StompVersion {
        guard let version = StompVersion(rawValue: version) else {
            throw StompJSONError("unknown STOMP version \"\(version)\"")
        }
        return version
    }
}

/// What decoding a whole byte stream produced.
public struct StompDecodeOutcome: Hashable, Sendable, CustomStringConvertible {
    /// Items decoded before the end or the error.
    public var items: [StompDecoded]
    /// The error kind raw value, when decoding failed.
    public var errorKind: String?
    /// The full error, when decoding failed.
    public var error: StompDecodingError?
    /// Whether the stream ended inside a frame.
    public var incomplete: Bool

    /// An outcome; `error` is not compared with fixtures (only its kind is).
    public init(items: [StompDecoded], errorKind: String?, error: StompDecodingError? = nil, incomplete: Bool) {
        self.items = items
        self.errorKind = errorKind
        self.error = error
        self.incomplete = incomplete
    }

    /// Whether items, error kind and completeness match `other` (the error message is ignored).
    public func matches(_ other: StompDecodeOutcome) -> Bool {
        items == other.items && errorKind == other.errorKind && incomplete == other.incomplete
    }

    /// Items as JSON lines, then the error or incompleteness.
    public var description: String {
        var lines = items.map { StompJSON.string(for: $0) }
        if let errorKind { lines.append("error: \(errorKind)") }
        if incomplete { lines.append("incomplete") }
        return lines.joined(separator: "\n")
    }

    /// Decodes `bytes` with a fresh decoder, feeding them in pieces of the given sizes (cycled; nil = all at once),
    /// the way a socket would deliver them.
    public static func decode(
        _ bytes: [UInt8], version: StompVersion, limits: StompLimits, chunkSizes: [Int]? = nil
    ) -> StompDecodeOutcome {
        var decoder = StompDecoder(version: version, limits: limits)
        var buffer = ByteBuffer()
        var items: [StompDecoded] = []
        var offset = 0
        var chunkIndex = 0
        repeat {
            var size = bytes.count - offset
            if let chunkSizes, !chunkSizes.isEmpty {
                size = min(size, max(1, chunkSizes[chunkIndex % chunkSizes.count]))
                chunkIndex += 1
            }
            buffer.writeBytes(bytes[offset..<(offset + size)])
            offset += size
            do {
                while let item = try decoder.next(from: &buffer) {
                    items.append(item)
                }
            } catch {
                return StompDecodeOutcome(items: items, errorKind: error.kind.rawValue, error: error, incomplete: false)
            }
            buffer.discardReadBytes()
        } while offset < bytes.count
        return StompDecodeOutcome(
            items: items, errorKind: nil, incomplete: decoder.isInsideFrame || buffer.readableBytes > 0)
    }
}
