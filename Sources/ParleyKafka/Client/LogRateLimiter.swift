import Synchronization

/// Lets one log line per key through per window: librdkafka repeats connection errors every reconnect backoff,
/// which would otherwise flood the log while a broker is down.
final class LogRateLimiter: Sendable {
    private let window: Duration
    private let lastLogged = Mutex<[String: ContinuousClock.Instant]>([:])

    init(window: Duration = .seconds(5)) {
        self.window = window
    }

    /// Whether a line with `key` may be logged now (and records that it was).
    func shouldLog(_ key: String, now: ContinuousClock.Instant = .now) -> Bool {
        lastLogged.withLock { lastLogged in
            if let last = lastLogged[key], now - last < window { return false }
            if lastLogged.count > 1024 { lastLogged.removeAll() }  // bounded memory
            lastLogged[key] = now
            return true
        }
    }
}
