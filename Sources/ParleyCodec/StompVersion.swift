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
