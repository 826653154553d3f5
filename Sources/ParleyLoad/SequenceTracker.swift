/// Which sequence numbers of one sender one receiver has seen: counts duplicates and reordering exactly,
/// in one bit per message.
public struct SequenceTracker: Sendable, Hashable {
    private var seen: [UInt64] = []
    /// Distinct sequence numbers received.
    public private(set) var unique = 0
    /// Messages received again after their first arrival.
    public private(set) var duplicates = 0
    /// Messages that arrived after a higher sequence number from the same sender.
    public private(set) var outOfOrder = 0
    /// Highest sequence number seen, -1 before the first.
    public private(set) var highest = -1

    /// An empty tracker.
    public init() {}

    /// Records one arrival; returns false for a duplicate.
    @discardableResult
    public mutating func record(_ sequence: Int) -> Bool {
        precondition(sequence >= 0, "sequence numbers start at 0")
        let word = sequence >> 6
        let bit = UInt64(1) << UInt64(sequence & 63)
        if word >= seen.count { seen.append(contentsOf: repeatElement(0, count: word - seen.count + 1)) }
        if seen[word] & bit != 0 {
            duplicates += 1
            return false
        }
        seen[word] |= bit
        unique += 1
        if sequence < highest { outOfOrder += 1 } else { highest = sequence }
        return true
    }

    /// Distinct sequence numbers below `sent` that were received (what counts against loss).
    public func uniqueBelow(_ sent: Int) -> Int {
        guard sent <= highest else { return unique }
        var count = 0
        let fullWords = sent >> 6
        for index in 0..<min(fullWords, seen.count) { count += seen[index].nonzeroBitCount }
        let rest = sent & 63
        if rest > 0, fullWords < seen.count { count += (seen[fullWords] & ((UInt64(1) << UInt64(rest)) - 1)).nonzeroBitCount }
        return count
    }
}
