/// A bounded set of the most recently seen message ids: a ring buffer decides which id to forget next.
///
/// Used only from the consumer thread, so it needs no lock. Memory stays at `capacity` ids.
struct RecentMessageIDs {
    private var ring: [String?]
    private var next = 0
    private var members: Set<String>

    /// Creates an empty window remembering up to `capacity` ids.
    init(capacity: Int) {
        precondition(capacity > 0, "capacity must be positive")
        ring = Array(repeating: nil, count: capacity)
        members = Set(minimumCapacity: capacity)
    }

    /// Records `id`; returns `false` when it was already in the window (a duplicate).
    mutating func insert(_ id: String) -> Bool {
        guard members.insert(id).inserted else { return false }
        if let evicted = ring[next] { members.remove(evicted) }
        ring[next] = id
        next = (next + 1) % ring.count
        return true
    }

    /// Number of ids remembered.
    var count: Int { members.count }
}
