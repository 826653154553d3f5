#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The numbered, timestamped text every load message carries, so the receiver can measure latency and detect
/// loss, duplicates and reordering without any shared state with the sender:
/// `PL1|<run>|<sender>|<sequence>|<sent uptime ns>|<receiver or -1>|<padding>`.
/// It contains no quotes or backslashes, so it can sit verbatim inside a JSON string.
public struct LoadPayload: Sendable, Hashable {
    /// Run id: messages of other runs (e.g. left in a durable queue) are ignored.
    public var runID: String
    /// Index of the sending client.
    public var sender: Int
    /// Per-sender sequence number, from 0.
    public var sequence: Int
    /// Monotonic send time (`NIODeadline.now().uptimeNanoseconds` of this process).
    public var sentNanos: UInt64
    /// Index of the intended receiver, or -1 for room messages.
    public var receiver: Int

    static let marker = "PL1|"

    /// Creates a payload.
    public init(runID: String, sender: Int, sequence: Int, sentNanos: UInt64, receiver: Int) {
        self.runID = runID
        self.sender = sender
        self.sequence = sequence
        self.sentNanos = sentNanos
        self.receiver = receiver
    }

    /// The text form, padded with `x` to at least `size` bytes.
    public func encoded(paddedTo size: Int = 0) -> String {
        var text = "\(Self.marker)\(runID)|\(sender)|\(sequence)|\(sentNanos)|\(receiver)|"
        if text.utf8.count < size { text += String(repeating: "x", count: size - text.utf8.count) }
        return text
    }

    /// Finds and parses a payload anywhere in `body` (raw, or inside a JSON chat event).
    public init?(findingIn body: String) {
        var body = body
        let parsed: (ScannedPayload, String)? = body.withUTF8 { utf8 in
            let raw = UnsafeRawBufferPointer(utf8)
            guard let scanned = Self.scan(raw) else { return nil }
            return (scanned, String(decoding: raw[scanned.runID], as: UTF8.self))
        }
        guard let parsed else { return nil }
        let (scanned, runID) = parsed
        self.init(
            runID: runID, sender: scanned.sender, sequence: scanned.sequence, sentNanos: scanned.sentNanos,
            receiver: scanned.receiver)
    }

    /// Finds and parses a payload in raw bytes without creating any String: the receive path does this for
    /// every delivered message. The run id is returned as a byte range of `bytes` for the caller to compare.
    static func scan(_ bytes: UnsafeRawBufferPointer) -> ScannedPayload? {
        guard let base = bytes.baseAddress, bytes.count >= 4 else { return nil }
        // "PL1|" as a little-endian UInt32: one comparison per candidate position found by memchr.
        let marker: UInt32 = 0x7C31_4C50
        var position = 0
        var start = -1
        while position <= bytes.count - 4 {
            guard let found = memchr(base + position, Int32(UInt8(ascii: "P")), bytes.count - 3 - position) else { return nil }
            let offset = base.distance(to: UnsafeRawPointer(found))
            if bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian == marker {
                start = offset + 4
                break
            }
            position = offset + 1
        }
        guard start >= 0 else { return nil }
        var index = start
        while index < bytes.count, bytes[index] != UInt8(ascii: "|") { index += 1 }
        guard index < bytes.count else { return nil }
        let runID = start..<index
        index += 1
        func number() -> UInt64? {
            var value: UInt64 = 0
            var digits = 0
            while index < bytes.count, case let byte = bytes[index], byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
                guard !overflow1, !overflow2 else { return nil }
                value = sum
                digits += 1
                index += 1
            }
            return digits > 0 ? value : nil
        }
        func separator() -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "|") else { return false }
            index += 1
            return true
        }
        guard let sender = number(), sender <= UInt64(Int.max), separator(),
            let sequence = number(), sequence <= UInt64(Int.max), separator(),
            let sentNanos = number(), separator()
        else { return nil }
        let negative = index < bytes.count && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard let receiverMagnitude = number(), receiverMagnitude <= UInt64(Int.max) else { return nil }
        let receiver = negative ? -Int(receiverMagnitude) : Int(receiverMagnitude)
        return ScannedPayload(runID: runID, sender: Int(sender), sequence: Int(sequence), sentNanos: sentNanos, receiver: receiver)
    }
}

/// The fields of a payload found by ``LoadPayload/scan(_:)``; the run id stays in the scanned bytes.
struct ScannedPayload {
    /// Where the run id lies in the scanned bytes.
    var runID: Range<Int>
    var sender: Int
    var sequence: Int
    var sentNanos: UInt64
    var receiver: Int
}
