/// A STOMP protocol version. It decides which header escapes exist on the wire.
public enum StompVersion: String, Sendable, Comparable, CaseIterable {
    /// STOMP 1.0: no header escaping at all.
    case v1_0 = "1.0"
    /// STOMP 1.1: escapes `\n`, `\c` and `\\`.
    case v1_1 = "1.1"
    /// STOMP 1.2: escapes `\r`, `\n`, `\c` and `\\`.
    case v1_2 = "1.2"

    /// Versions order by their number, so negotiation can pick the highest common one.
    public static func < (lhs: StompVersion, rhs: StompVersion) -> Bool {
        lhs.ordinal < rhs.ordinal
    }

    private var ordinal: Int {
        switch self {
        case .v1_0: 0
        case .v1_1: 1
        case .v1_2: 2
        }
    }
}

extension StompVersion {
    /// The WebSocket subprotocol (`Sec-WebSocket-Protocol`) that carries this version: `v12.stomp`, ….
    public var webSocketSubprotocol: String {
        switch self {
        case .v1_0: "v10.stomp"
        case .v1_1: "v11.stomp"
        case .v1_2: "v12.stomp"
        }
    }

    /// Every version's subprotocol, best first: what a client offers and a server prefers.
    public static let webSocketSubprotocols = [StompVersion.v1_2, .v1_1, .v1_0].map(\.webSocketSubprotocol)

    /// The version a subprotocol name carries (any letter case); `nil` for names that are not STOMP's.
    public init?(webSocketSubprotocol name: String) {
        guard let version = StompVersion.allCases.first(where: { $0.webSocketSubprotocol == name.lowercased() }) else {
            return nil
        }
        self = version
    }
}
