import ParleyCodec
import ParleyCodecJSON

/// One golden frame fixture's expectation (`NAME.json` next to the raw bytes in `NAME.stomp`).
/// The format is documented in `Fixtures/frames/README.md`.
struct StompFrameFixture: Codable, Hashable, Sendable {
    /// What the case checks, for people reading the fixture.
    var description: String?
    /// The STOMP version the decoder is set to.
    var version: String
    /// Limit overrides; absent fields keep `StompLimits.default`.
    var limits: Limits?
    /// Items decoded, in order, before the end of input or the error.
    var frames: [StompDecodedJSON]
    /// Expected `StompDecodingError.Kind` raw value, when decoding must fail.
    var error: String?
    /// True when the input ends inside a frame (decoder waits for more bytes, no error).
    var incomplete: Bool?

    /// Limit overrides as JSON.
    struct Limits: Codable, Hashable, Sendable {
        /// Overrides `StompLimits.maxFrameSize`.
        var maxFrameSize: Int?
        /// Overrides `StompLimits.maxBodySize`.
        var maxBodySize: Int?
        /// Overrides `StompLimits.maxHeaderCount`.
        var maxHeaderCount: Int?
        /// Overrides `StompLimits.maxHeaderLineLength`.
        var maxHeaderLineLength: Int?
        /// Overrides `StompLimits.maxCommandLength`.
        var maxCommandLength: Int?

        /// The defaults with these overrides applied.
        var resolved: StompLimits {
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
    var expected: StompDecodeOutcome {
        StompDecodeOutcome(
            items: frames.map(\.value), errorKind: error, incomplete: incomplete ?? false)
    }

    /// The version as an enum; throws for an unknown version string.
    func stompVersion() throws(StompJSONError) -> StompVersion {
        guard let version = StompVersion(rawValue: version) else {
            throw StompJSONError("unknown STOMP version \"\(version)\"")
        }
        return version
    }
}
