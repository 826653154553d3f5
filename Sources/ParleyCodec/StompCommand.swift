/// A STOMP frame command. Commands are case-sensitive; only the fifteen defined ones decode.
public struct StompCommand: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The command exactly as on the wire, e.g. `SEND`.
    public var rawValue: String

    /// Wraps any command string; the encoder writes it verbatim, the decoder only produces known commands.
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// `CONNECT` (client): opens a session; its headers are never escaped.
    public static let connect = StompCommand(rawValue: "CONNECT")
    /// `STOMP` (client): the STOMP 1.1+ name for CONNECT.
    public static let stomp = StompCommand(rawValue: "STOMP")
    /// `SEND` (client): publishes a message to a destination.
    public static let send = StompCommand(rawValue: "SEND")
    /// `SUBSCRIBE` (client): registers a subscription.
    public static let subscribe = StompCommand(rawValue: "SUBSCRIBE")
    /// `UNSUBSCRIBE` (client): removes a subscription.
    public static let unsubscribe = StompCommand(rawValue: "UNSUBSCRIBE")
    /// `ACK` (client): acknowledges a message.
    public static let ack = StompCommand(rawValue: "ACK")
    /// `NACK` (client): rejects a message.
    public static let nack = StompCommand(rawValue: "NACK")
    /// `BEGIN` (client): starts a transaction.
    public static let begin = StompCommand(rawValue: "BEGIN")
    /// `COMMIT` (client): commits a transaction.
    public static let commit = StompCommand(rawValue: "COMMIT")
    /// `ABORT` (client): rolls back a transaction.
    public static let abort = StompCommand(rawValue: "ABORT")
    /// `DISCONNECT` (client): ends the session gracefully.
    public static let disconnect = StompCommand(rawValue: "DISCONNECT")
    /// `CONNECTED` (server): accepts a CONNECT; its headers are never escaped.
    public static let connected = StompCommand(rawValue: "CONNECTED")
    /// `MESSAGE` (server): delivers a message to a subscription.
    public static let message = StompCommand(rawValue: "MESSAGE")
    /// `RECEIPT` (server): confirms a frame that asked for a receipt.
    public static let receipt = StompCommand(rawValue: "RECEIPT")
    /// `ERROR` (server): reports a failure; usually followed by closing the connection.
    public static let error = StompCommand(rawValue: "ERROR")

    /// Every command defined by STOMP 1.2, clients' first.
    public static let allKnown: [StompCommand] = [
        .connect, .stomp, .send, .subscribe, .unsubscribe, .ack, .nack, .begin, .commit, .abort, .disconnect,
        .connected, .message, .receipt, .error,
    ]

    /// Only SEND, MESSAGE and ERROR may carry a body (STOMP 1.2, "Frames and Headers").
    public var allowsBody: Bool {
        self == .send || self == .message || self == .error
    }

    /// CONNECT and CONNECTED keep their header bytes verbatim for STOMP 1.0 compatibility (spec "Value Encoding").
    public var escapesHeaders: Bool {
        self != .connect && self != .connected
    }

    /// The raw command.
    public var description: String { rawValue }

    /// Maps a command line to a known command without creating a String (hot path of the decoder).
    static func known(_ bytes: UnsafeRawBufferPointer) -> StompCommand? {
        switch bytes.count {
        case 3: return bytes.matches("ACK") ? .ack : nil
        case 4:
            if bytes.matches("SEND") { return .send }
            if bytes.matches("NACK") { return .nack }
            return nil
        case 5:
            if bytes.matches("STOMP") { return .stomp }
            if bytes.matches("BEGIN") { return .begin }
            if bytes.matches("ABORT") { return .abort }
            if bytes.matches("ERROR") { return .error }
            return nil
        case 6: return bytes.matches("COMMIT") ? .commit : nil
        case 7:
            if bytes.matches("MESSAGE") { return .message }
            if bytes.matches("CONNECT") { return .connect }
            if bytes.matches("RECEIPT") { return .receipt }
            return nil
        case 9:
            if bytes.matches("SUBSCRIBE") { return .subscribe }
            if bytes.matches("CONNECTED") { return .connected }
            return nil
        case 10: return bytes.matches("DISCONNECT") ? .disconnect : nil
        case 11: return bytes.matches("UNSUBSCRIBE") ? .unsubscribe : nil
        default: return nil
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Byte-wise comparison with an ASCII literal of the same length.
    @inline(__always)
    fileprivate func matches(_ literal: StaticString) -> Bool {
        guard literal.utf8CodeUnitCount == count else { return false }
        let start = literal.utf8Start
        for index in 0..<count where self[index] != start[index] {
            return false
        }
        return true
    }
}
