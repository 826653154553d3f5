import HummingbirdBcrypt
import NIOPosix

/// bcrypt hashing and verification, run on NIO's thread pool so the slow work never blocks an event loop or
/// the cooperative executor.
public struct PasswordHasher: Sendable {
    /// Work factor (log2 rounds) for new hashes; 10 matches Spring's `BCryptPasswordEncoder` default.
    public let cost: UInt8
    private let threadPool: NIOThreadPool

    /// bcrypt accepts costs 4...31.
    public static let allowedCosts: ClosedRange<UInt8> = 4...31

    /// Creates a hasher; `cost` must be within ``allowedCosts``.
    public init(cost: UInt8 = 10, threadPool: NIOThreadPool = .singleton) {
        precondition(Self.allowedCosts.contains(cost), "bcrypt cost must be 4...31")
        self.cost = cost
        self.threadPool = threadPool
    }

    /// Hashes a password (`$2b$` format).
    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await threadPool.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Checks a password against a `$2a$`, `$2b$` or `$2y$` hash; malformed hashes never match.
    public func verify(_ password: String, against hash: String) async throws -> Bool {
        guard let normalized = Self.normalize(hash) else { return false }
        return try await threadPool.runIfActive { Bcrypt.verify(password, hash: normalized) }
    }

    /// `$2y$` (PHP) is the same algorithm as `$2b$`; the C implementation only knows `a` and `b`.
    static func normalize(_ hash: String) -> String? {
        guard hash.utf8.count == 60 else { return nil }
        if hash.hasPrefix("$2a$") || hash.hasPrefix("$2b$") { return hash }
        if hash.hasPrefix("$2y$") { return "$2b$" + hash.dropFirst(4) }
        return nil
    }
}
