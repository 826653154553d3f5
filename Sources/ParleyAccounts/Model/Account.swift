import Foundation

/// An account as the API shows it: never the password hash.
public struct Account: Sendable, Hashable, Codable {
    /// Database id; also the JWT `sub` (as a decimal string).
    public var id: Int64
    /// The unique login name (unique regardless of letter case).
    public var loginId: String
    /// The display name.
    public var username: String
    /// When the account was created (whole seconds).
    public var createdAt: Date

    /// Creates an account value.
    public init(id: Int64, loginId: String, username: String, createdAt: Date) {
        self.id = id
        self.loginId = loginId
        self.username = username
        self.createdAt = createdAt
    }
}

/// An account together with its password hash, as the store keeps it.
public struct StoredAccount: Sendable, Hashable {
    /// The public part.
    public var account: Account
    /// The bcrypt hash (`$2a$`, `$2b$` or `$2y$`).
    public var passwordHash: String

    /// Creates a stored account.
    public init(account: Account, passwordHash: String) {
        self.account = account
        self.passwordHash = passwordHash
    }
}
