/// The two numbers of a `heart-beat` header: how often this side can send, and wants to receive, in ms.
public struct StompHeartBeat: Hashable, Sendable {
    /// Smallest interval at which this side can send heart-beats (ms); 0 means it cannot.
    public var send: Int
    /// Desired interval between heart-beats received from the peer (ms); 0 means it does not want them.
    public var receive: Int

    /// Heart-beat settings from two non-negative intervals in milliseconds.
    public init(send: Int, receive: Int) {
        self.send = send
        self.receive = receive
    }

    /// Parses `cx,cy`; `nil` when the value is not two non-negative decimal integers separated by a comma.
    public init?(header: String) {
        let parts = header.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2, let send = Self.parse(parts[0]), let receive = Self.parse(parts[1]) else {
            return nil
        }
        self.init(send: send, receive: receive)
    }

    private static func parse(_ text: Substring) -> Int? {
        // Spaces around the numbers are tolerated (seen from some clients); signs are not.
        let trimmed = text.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()
        guard !trimmed.isEmpty, trimmed.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(String(trimmed))
    }

    /// `send,receive` as written in the header.
    public var headerValue: String { "\(send),\(receive)" }

    /// Intervals one side uses after the handshake (STOMP 1.2 "Heart-beating"): outgoing is
    /// MAX(local.send, remote.receive) and incoming MAX(local.receive, remote.send); 0 on either side disables.
    public static func negotiate(local: StompHeartBeat, remote: StompHeartBeat) -> (outgoing: Int, incoming: Int) {
        let outgoing = local.send == 0 || remote.receive == 0 ? 0 : max(local.send, remote.receive)
        let incoming = local.receive == 0 || remote.send == 0 ? 0 : max(local.receive, remote.send)
        return (outgoing, incoming)
    }
}
