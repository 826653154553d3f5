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
        guard let start = body.firstRange(of: Self.marker)?.upperBound else { return nil }
        let fields = body[start...].split(separator: "|", maxSplits: 5, omittingEmptySubsequences: false)
        guard fields.count >= 5,
            let sender = Int(fields[1]),
            let sequence = Int(fields[2]),
            let sentNanos = UInt64(fields[3])
        else { return nil }
        let receiverText = fields[4].prefix { $0 == "-" || $0.isNumber }
        guard let receiver = Int(receiverText) else { return nil }
        self.init(runID: String(fields[0]), sender: sender, sequence: sequence, sentNanos: sentNanos, receiver: receiver)
    }
}
