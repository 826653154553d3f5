import ParleyRelay
import Synchronization

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
