import Foundation

/// Persistence for accounts and refresh tokens.
///
/// The API talks only to this protocol so another database (PostgreSQL) can replace the embedded SQLite store.
/// Implementations must make ``createAccount(loginId:username:passwordHash:createdAt:)`` atomic with respect
/// to the loginId uniqueness rule and ``rotateRefreshToken(presentedHash:replacement:now:)`` atomic as a whole.
public protocol AccountStore: Sendable {
    /// Inserts an account; throws ``AccountStoreError/duplicateLoginId`` if the loginId (any letter case) exists.
    func createAccount(loginId: String, username: String, passwordHash: String, createdAt: Date) async throws
        -> Account
    /// The account with this id.
    func account(id: Int64) async throws -> Account?
    /// The account and its hash for a loginId (letter case ignored).
    func storedAccount(loginId: String) async throws -> StoredAccount?
    /// The account and its hash for an id.
    func storedAccount(id: Int64) async throws -> StoredAccount?
    /// Changes the display name; `nil` if the account does not exist.
    func updateUsername(accountId: Int64, username: String) async throws -> Account?
    /// Replaces the password hash and revokes every refresh token, in one transaction; `false` if no account.
    func updatePasswordHash(accountId: Int64, passwordHash: String) async throws -> Bool
    /// Deletes the account and its refresh tokens; `false` if it did not exist.
    func deleteAccount(accountId: Int64) async throws -> Bool

    /// Records a newly issued refresh token (a new family on login).
    func insertRefreshToken(_ record: RefreshTokenRecord) async throws
    /// Atomically: finds the presented token; if active, marks it rotated and stores `replacement` in its family;
    /// if already rotated (reuse), revokes every refresh token of the account.
    func rotateRefreshToken(presentedHash: Data, replacement: RefreshTokenRecord, now: Date) async throws
        -> RefreshRotationOutcome
    /// Revokes every active refresh token of the account; returns how many.
    @discardableResult
    func revokeRefreshTokens(accountId: Int64) async throws -> Int

    /// Runs a trivial query on the accounts table: throws ``AccountStoreError/unavailable(_:)`` when the store
    /// cannot answer it (readiness probes, `/ready`).
    func checkAvailable() async throws
}

/// A refresh token as stored: only its SHA-256, never the token.
public struct RefreshTokenRecord: Sendable, Hashable {
    /// SHA-256 of the token's UTF-8 bytes.
    public var tokenHash: Data
    /// The token's `jti`.
    public var tokenID: String
    /// Owner.
    public var accountId: Int64
    /// All tokens descending from one login share a family.
    public var familyId: String
    /// `iat`.
    public var issuedAt: Date
    /// `exp`.
    public var expiresAt: Date

    /// Creates a record.
    public init(tokenHash: Data, tokenID: String, accountId: Int64, familyId: String, issuedAt: Date, expiresAt: Date) {
        self.tokenHash = tokenHash
        self.tokenID = tokenID
        self.accountId = accountId
        self.familyId = familyId
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }
}

/// State of a stored refresh token.
public enum RefreshTokenStatus: String, Sendable, Hashable, Codable {
    /// Can be exchanged once.
    case active
    /// Was exchanged; presenting it again is reuse.
    case rotated
    /// Logged out, password changed, or revoked by reuse detection.
    case revoked
}

/// What happened to a presented refresh token.
public enum RefreshRotationOutcome: Sendable, Hashable {
    /// It was active; the replacement is now the family's active token.
    case rotated(accountId: Int64)
    /// It had already been rotated: every refresh token of the account is now revoked.
    case reuseDetected(accountId: Int64, revokedCount: Int)
    /// It was revoked or expired.
    case revoked
    /// No such token is stored (never issued here, or its account was deleted).
    case unknown
}

/// Store failures the API maps to specific responses.
public enum AccountStoreError: Error, Sendable, Hashable {
    /// The loginId is already taken.
    case duplicateLoginId
    /// The store could not run a query; the text says why (no SQL, no data).
    case unavailable(String)
}
