import Synchronization

/// The bytes all sessions of a node hold (outbound, unacknowledged, transactions, unfinished frames), against
/// ``BrokerConfiguration/nodeMemoryBudget``. Sessions reserve in chunks, so the shared counter is touched once per
/// chunk of growth, not once per message; a session's first chunk is its own allowance and not counted, so the
/// few KiB every active session holds between flushes never touch the shared counter (two contended atomics per
/// session and tick cost a 1 → 1,000 fan-out a fifth of its rate).
final class NodeMemory: Sendable {
    /// The granularity of reservations.
    static let chunk = 64 << 10

    let budget: Int
    private let reserved = Atomic<Int>(0)

    init(budget: Int) { self.budget = budget }

    /// Bytes reserved by all sessions.
    var inUse: Int { reserved.load(ordering: .relaxed) }

    /// Reserves `bytes`; `false` (and nothing reserved) when that would pass the budget.
    func reserve(_ bytes: Int) -> Bool {
        let total = reserved.wrappingAdd(bytes, ordering: .relaxed).newValue
        guard total > budget else { return true }
        reserved.wrappingSubtract(bytes, ordering: .relaxed)
        return false
    }

    /// Returns `bytes` reserved earlier.
    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        reserved.wrappingSubtract(bytes, ordering: .relaxed)
    }
}

/// One session's share of ``NodeMemory``, kept in whole chunks a little above what the session holds.
struct MemoryReservation {
    private(set) var reserved = 0

    /// Grows or shrinks the reservation to cover `usage`; `false` when the node has no room for the growth. An
    /// idle session (within its allowance) holds nothing; otherwise the reservation shrinks only when two chunks are spare, so a
    /// session hovering around a chunk boundary does not churn the shared counter.
    mutating func cover(_ usage: Int, from node: NodeMemory) -> Bool {
        let chunk = NodeMemory.chunk
        let counted = max(0, usage - chunk)
        let needed = (counted + chunk - 1) / chunk * chunk
        if needed > reserved {
            guard node.reserve(needed - reserved) else { return false }
            reserved = needed
        } else if needed == 0 || reserved - needed >= 2 * chunk {
            node.release(reserved - needed)
            reserved = needed
        }
        return true
    }

    /// Gives everything back (the session ended).
    mutating func releaseAll(to node: NodeMemory) {
        node.release(reserved)
        reserved = 0
    }
}
