/// How long to wait before the next attempt to recreate a failed Kafka client: `initial`, doubling per
/// consecutive attempt, capped at `maximum`. The attempt count resets once a rebuilt client worked (first
/// acknowledgement for the producer, first assignment for the consumer).
struct RebuildBackoff: Sendable, Equatable {
    /// Delay before the first attempt.
    var initial: Duration
    /// Longest delay.
    var maximum: Duration

    /// The delay before attempt `attempt` (0-based): `initial × 2^attempt`, at most `maximum`.
    func delay(attempt: Int) -> Duration {
        var delay = initial
        for _ in 0..<min(attempt, 62) {
            delay *= 2
            if delay >= maximum { return maximum }
        }
        return min(delay, maximum)
    }
}
