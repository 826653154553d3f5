import Foundation
import GRDB

/// The embedded store: one SQLite file (WAL mode) through GRDB, schema managed by versioned migrations.
public final class SQLiteAccountStore: AccountStore {
    /// File name used inside the data directory.
    public static let defaultFileName = "accounts.sqlite"

    private let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.foreignKeysEnabled = true
        configuration.label = "parley.accounts"
        // DatabasePool always runs SQLite in WAL mode: readers never block the single writer.
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    /// Opens `DIR/accounts.sqlite`, creating the directory.
    public convenience init(dataDirectory: String) throws {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        try self.init(path: (dataDirectory as NSString).appendingPathComponent(Self.defaultFileName))
    }

    /// The schema history. Never edit a shipped migration; append a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-accounts") { db in
            try db.execute(
                sql: """
                    CREATE TABLE account (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        login_id TEXT NOT NULL,
                        username TEXT NOT NULL,
                        password_hash TEXT NOT NULL,
                        created_at INTEGER NOT NULL
                    );
                    CREATE UNIQUE INDEX account_login_id ON account(login_id COLLATE NOCASE);
                    """)
        }
        migrator.registerMigration("v2-refresh-tokens") { db in
            try db.execute(
                sql: """
                    CREATE TABLE refresh_token (
                        token_hash BLOB PRIMARY KEY NOT NULL,
                        jti TEXT NOT NULL,
                        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
                        family_id TEXT NOT NULL,
                        status TEXT NOT NULL CHECK (status IN ('active', 'rotated', 'revoked')),
                        issued_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL,
                        replaced_by TEXT
                    );
                    CREATE INDEX refresh_token_account ON refresh_token(account_id, status);
                    CREATE INDEX refresh_token_family ON refresh_token(family_id);
                    """)
        }
        return migrator
    }

    /// Identifiers of every migration this version knows, in order.
    public static var migrationIdentifiers: [String] { migrator.migrations }

    /// Identifiers of the migrations applied to the open database.
    public func appliedMigrations() async throws -> [String] {
        try await pool.read { db in try Self.migrator.appliedIdentifiers(db).sorted() }
    }

    /// Reads the accounts table (`SELECT 1 FROM account LIMIT 1`): a missing or unreadable table, a broken file or
    /// a closed pool throws ``AccountStoreError/unavailable(_:)``.
    public func checkAvailable() async throws {
        do {
            _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1 FROM account LIMIT 1") }
        } catch let error as DatabaseError {
            throw AccountStoreError.unavailable("SQLite error \(error.resultCode.rawValue): \(error.message ?? "\(error.resultCode)")")
        } catch {
            throw AccountStoreError.unavailable("\(error)")
        }
    }

    /// The SQLite journal mode in force (`wal`).
    public func journalMode() async throws -> String {
        try await pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    // MARK: Accounts

    public func createAccount(loginId: String, username: String, passwordHash: String, createdAt: Date) async throws
        -> Account
    {
        let created = Int64(createdAt.timeIntervalSince1970.rounded(.down))
        do {
            let id = try await pool.write { db -> Int64 in
                try db.execute(
                    sql: "INSERT INTO account (login_id, username, password_hash, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [loginId, username, passwordHash, created])
                return db.lastInsertedRowID
            }
            return Account(
                id: id, loginId: loginId, username: username, createdAt: Date(timeIntervalSince1970: Double(created)))
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw AccountStoreError.duplicateLoginId
        }
    }

    public func account(id: Int64) async throws -> Account? {
        try await storedAccount(id: id)?.account
    }

    public func storedAccount(loginId: String) async throws -> StoredAccount? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM account WHERE login_id = ? COLLATE NOCASE", arguments: [loginId]
            ).map(Self.storedAccount(from:))
        }
    }

    public func storedAccount(id: Int64) async throws -> StoredAccount? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM account WHERE id = ?", arguments: [id]).map(Self.storedAccount(from:))
        }
    }

    public func updateUsername(accountId: Int64, username: String) async throws -> Account? {
        try await pool.write { db in
            try db.execute(sql: "UPDATE account SET username = ? WHERE id = ?", arguments: [username, accountId])
            return try Row.fetchOne(db, sql: "SELECT * FROM account WHERE id = ?", arguments: [accountId])
                .map(Self.storedAccount(from:))?.account
        }
    }

    public func updatePasswordHash(accountId: Int64, passwordHash: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "UPDATE account SET password_hash = ? WHERE id = ?", arguments: [passwordHash, accountId])
            guard db.changesCount == 1 else { return false }
            try Self.revokeAll(db, accountId: accountId)
            return true
        }
    }

    public func deleteAccount(accountId: Int64) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM account WHERE id = ?", arguments: [accountId])
            return db.changesCount == 1
        }
    }

    // MARK: Refresh tokens

    public func insertRefreshToken(_ record: RefreshTokenRecord) async throws {
        try await pool.write { db in try Self.insert(db, record) }
    }

    public func rotateRefreshToken(presentedHash: Data, replacement: RefreshTokenRecord, now: Date) async throws
        -> RefreshRotationOutcome
    {
        let nowSeconds = Int64(now.timeIntervalSince1970.rounded(.down))
        return try await pool.write { db -> RefreshRotationOutcome in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT account_id, family_id, status, expires_at FROM refresh_token WHERE token_hash = ?",
                    arguments: [presentedHash])
            else { return .unknown }
            let accountId: Int64 = row["account_id"]
            let familyId: String = row["family_id"]
            let expiresAt: Int64 = row["expires_at"]
            switch RefreshTokenStatus(rawValue: row["status"]) {
            case .active where expiresAt > nowSeconds:
                try db.execute(
                    sql: "UPDATE refresh_token SET status = 'rotated', replaced_by = ? WHERE token_hash = ?",
                    arguments: [replacement.tokenID, presentedHash])
                var next = replacement
                next.familyId = familyId
                next.accountId = accountId
                try Self.insert(db, next)
                return .rotated(accountId: accountId)
            case .rotated:
                let revoked = try Self.revokeAll(db, accountId: accountId)
                return .reuseDetected(accountId: accountId, revokedCount: revoked)
            default:
                return .revoked
            }
        }
    }

    @discardableResult
    public func revokeRefreshTokens(accountId: Int64) async throws -> Int {
        try await pool.write { db in try Self.revokeAll(db, accountId: accountId) }
    }

    /// Status of one stored token (for tests and diagnostics).
    public func refreshTokenStatus(tokenHash: Data) async throws -> RefreshTokenStatus? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT status FROM refresh_token WHERE token_hash = ?", arguments: [tokenHash])
                .flatMap(RefreshTokenStatus.init(rawValue:))
        }
    }

    // MARK: Helpers

    @discardableResult
    private static func revokeAll(_ db: Database, accountId: Int64) throws -> Int {
        try db.execute(
            sql: "UPDATE refresh_token SET status = 'revoked' WHERE account_id = ? AND status != 'revoked'",
            arguments: [accountId])
        return db.changesCount
    }

    private static func insert(_ db: Database, _ record: RefreshTokenRecord) throws {
        try db.execute(
            sql: """
                INSERT INTO refresh_token (token_hash, jti, account_id, family_id, status, issued_at, expires_at)
                VALUES (?, ?, ?, ?, 'active', ?, ?)
                """,
            arguments: [
                record.tokenHash, record.tokenID, record.accountId, record.familyId,
                Int64(record.issuedAt.timeIntervalSince1970), Int64(record.expiresAt.timeIntervalSince1970),
            ])
    }

    private static func storedAccount(from row: Row) -> StoredAccount {
        let created: Int64 = row["created_at"]
        return StoredAccount(
            account: Account(
                id: row["id"], loginId: row["login_id"], username: row["username"],
                createdAt: Date(timeIntervalSince1970: Double(created))),
            passwordHash: row["password_hash"])
    }
}
