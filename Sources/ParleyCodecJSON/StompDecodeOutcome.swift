import NIOCore
import ParleyCodec

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
