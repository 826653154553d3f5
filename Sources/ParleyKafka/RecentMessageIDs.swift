import Synchronization

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

/// What a consumer hands to the one that replaces it (after a fatal error or a stuck join): the duplicate
/// window, so that records read again are still dropped, and each partition's position, where the new consumer
/// starts when the group never committed one (a consumer with a fatal error cannot commit on close).
///
/// Each consumer's poll thread checks the window out when it starts and back in when it ends; the relay never
/// runs two consumers at once.
final class ConsumerHandoff: Sendable {
    private let window: Mutex<RecentMessageIDs>
    private let positions = Mutex<[Int32: Int64]>([:])

    /// An empty window of `capacity` ids, no positions.
    init(capacity: Int) {
        window = Mutex(RecentMessageIDs(capacity: capacity))
    }

    /// The next offset the previous consumer would have read from `partition`, if it had one.
    func position(of partition: Int32) -> Int64? {
        positions.withLock { $0[partition] }
    }

    /// Takes the window for one poll thread (an empty one of the same size stays behind until ``checkIn(_:)``).
    func checkOut() -> RecentMessageIDs {
        window.withLock { window in
            let taken = window
            window = RecentMessageIDs(capacity: 1)
            return taken
        }
    }

    /// Returns the window when the poll thread ends, with the positions it reached.
    func checkIn(_ ids: RecentMessageIDs, positions reached: [Int32: Int64]) {
        window.withLock { $0 = ids }
        positions.withLock { $0.merge(reached) { _, new in new } }
    }
}
