/// Notices when a partition's records arrive with a hole in their offsets.
///
/// The relay's topic has neither compaction nor transactions, so the offsets a consumer sees in one partition
/// are contiguous; a jump means the fetch skipped records. Each hole is re-fetched at most `maxAttempts`
/// times, then accepted (a genuine hole, e.g. a broker that numbers differently), so the consumer never loops.
/// Used only on the consumer thread.
struct OffsetGapDetector {
    /// What to do with a record.
    enum Verdict: Equatable {
        /// Deliver it.
        case deliver
        /// Do not deliver; seek the partition back to this offset.
        case refetch(from: Int64)
    }

    private var expected: [Int32: Int64] = [:]
    private var attempts: [Int32: (offset: Int64, count: Int)] = [:]
    private let maxAttempts: Int

    /// Creates a detector; `expecting` holds the known start offset of partitions just assigned.
    init(maxAttempts: Int = 3, expecting startOffsets: [Int32: Int64] = [:]) {
        self.maxAttempts = maxAttempts
        self.expected = startOffsets
    }

    /// Checks the record at `offset` of `partition`.
    mutating func check(partition: Int32, offset: Int64) -> Verdict {
        if let next = expected[partition], offset > next {
            let previous = attempts[partition]
            let count = previous?.offset == next ? previous!.count + 1 : 1
            if count <= maxAttempts {
                attempts[partition] = (next, count)
                return .refetch(from: next)
            }
        }
        expected[partition] = max(expected[partition] ?? 0, offset + 1)
        return .deliver
    }
}
