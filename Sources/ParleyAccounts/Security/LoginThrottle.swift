import Foundation

/// Counts failed logins per loginId and locks the loginId out after too many.
///
/// In memory and per process: a restart forgets failures, which is acceptable for brute-force slowing (the
/// bcrypt cost remains). Checked before bcrypt runs, so a locked-out loginId costs the server nothing.
public actor LoginThrottle {
    /// Policy.
    public struct Configuration: Sendable, Hashable {
        /// Consecutive failures allowed before the lockout starts.
        public var maximumFailures: Int
        /// How long a loginId stays locked after the last allowed failure.
        public var lockout: Duration

        /// Creates a policy (defaults: 5 failures, 60 s lockout).
        public init(maximumFailures: Int = 5, lockout: Duration = .seconds(60)) {
            self.maximumFailures = maximumFailures
            self.lockout = lockout
        }
    }

    private struct Entry {
        var failures: Int
        var lockedUntil: Date?
    }

    private let configuration: Configuration
    private var entries: [String: Entry] = [:]
    /// Bound on remembered loginIds so random names cannot grow memory without limit.
    private let maximumEntries = 100_000

    /// Creates a throttle.
    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// Seconds to wait before `loginId` may try again, or `nil` if it may try now.
    public func retryAfter(loginId: String, now: Date = Date()) -> Int? {
        let key = loginId.lowercased()
        guard let lockedUntil = entries[key]?.lockedUntil else { return nil }
        if lockedUntil <= now {
            // Lockout over: one more failure locks again (failures stay at the limit).
            entries[key]?.lockedUntil = nil
            return nil
        }
        return max(1, Int(lockedUntil.timeIntervalSince(now).rounded(.up)))
    }

    /// Records a failure; starts a lockout when the limit is reached.
    public func recordFailure(loginId: String, now: Date = Date()) {
        let key = loginId.lowercased()
        if entries[key] == nil, entries.count >= maximumEntries {
            entries = entries.filter { $0.value.lockedUntil.map { $0 > now } ?? false }
        }
        var entry = entries[key] ?? Entry(failures: 0, lockedUntil: nil)
        entry.failures += 1
        if entry.failures >= configuration.maximumFailures {
            let seconds = Double(configuration.lockout.components.seconds)
                + Double(configuration.lockout.components.attoseconds) / 1e18
            entry.lockedUntil = now.addingTimeInterval(seconds)
        }
        entries[key] = entry
    }

    /// Forgets failures after a successful login.
    public func recordSuccess(loginId: String) {
        entries[loginId.lowercased()] = nil
    }
}
