/// A bounded set of the most recently seen ids: a ring buffer decides which id to forget next. The window of
/// every "seen it already?" check: the Kafka consumer drops redelivered events by message id, the chat fan-out
/// drops retried SENDs by sender and idempotency key.
///
/// A value type without a lock: its owner confines it (one consumer thread) or guards it. Memory stays at
/// `capacity` ids.
public struct RecentMessageIDs: Sendable {
    private var ring: [String?]
    private var next = 0
    private var members: Set<String>

    /// Creates an empty window remembering up to `capacity` ids.
    public init(capacity: Int) {
        precondition(capacity > 0, "capacity must be positive")
        ring = Array(repeating: nil, count: capacity)
        members = Set(minimumCapacity: capacity)
    }

    /// Records `id`; returns `false` when it was already in the window (a duplicate).
    public mutating func insert(_ id: String) -> Bool {
        guard members.insert(id).inserted else { return false }
        if let evicted = ring[next] { members.remove(evicted) }
        ring[next] = id
        next = (next + 1) % ring.count
        return true
    }

    /// Number of ids remembered.
    public var count: Int { members.count }
}
