import CRdKafka

/// The librdkafka version loaded at run time, and the check that it can talk to Tansu.
///
/// Parley is compiled against Debian's librdkafka 2.0.2 headers but must run on ≥ 2.2: older versions fail every
/// request against Tansu with `ApiVersionRequest failed: Local: Read underflow` (a tagged-field parsing bug fixed
/// upstream in 2.2). The binaries carry an rpath to `<package>/.tools/lib`, where `.ci/setup` links the
/// librdkafka 2.16 shipped in the PyPI `confluent-kafka` wheel.
public struct LibrdkafkaVersion: Sendable, Equatable, Comparable, CustomStringConvertible {
    /// The raw `rd_kafka_version()` value, `0xMMmmrrpp` (major, minor, revision, pre-release).
    public var hex: Int

    /// The oldest librdkafka Parley accepts (2.2.0).
    public static let minimumSupported = LibrdkafkaVersion(hex: 0x0202_0000)

    /// Wraps a raw `rd_kafka_version()` value.
    public init(hex: Int) { self.hex = hex }

    /// The version of the librdkafka this process actually loaded.
    public static var loaded: LibrdkafkaVersion { LibrdkafkaVersion(hex: Int(rd_kafka_version())) }

    /// Major version number.
    public var major: Int { (hex >> 24) & 0xFF }
    /// Minor version number.
    public var minor: Int { (hex >> 16) & 0xFF }
    /// Revision number.
    public var revision: Int { (hex >> 8) & 0xFF }

    /// `major.minor.revision`, e.g. `2.16.0`.
    public var description: String { "\(major).\(minor).\(revision)" }

    /// Orders versions by their numeric value.
    public static func < (lhs: LibrdkafkaVersion, rhs: LibrdkafkaVersion) -> Bool { lhs.hex < rhs.hex }

    /// Throws ``KafkaRelayError/librdkafkaTooOld(found:)`` when the loaded librdkafka is older than 2.2.
    public static func check() throws(KafkaRelayError) {
        try check(loaded)
    }

    /// Throws ``KafkaRelayError/librdkafkaTooOld(found:)`` when `version` is older than 2.2.
    public static func check(_ version: LibrdkafkaVersion) throws(KafkaRelayError) {
        if version < minimumSupported { throw .librdkafkaTooOld(found: version) }
    }
}
