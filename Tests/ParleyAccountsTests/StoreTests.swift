import Foundation
import GRDB
import HummingbirdBcrypt
import ParleyAccounts
import Testing

@Suite("SQLite store, migrations, bcrypt, throttle")
struct StoreTests {
    func temporaryPath() -> String {
        NSTemporaryDirectory() + "parley-store-\(UUID().uuidString)"
    }

    @Test("migrations apply once, WAL mode, data survives reopening")
    func migrations() async throws {
        let directory = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteAccountStore(dataDirectory: directory)
        #expect(try await store.appliedMigrations() == SQLiteAccountStore.migrationIdentifiers.sorted())
        #expect(SQLiteAccountStore.migrationIdentifiers == ["v1-accounts", "v2-refresh-tokens"])
        #expect(try await store.journalMode() == "wal")
        let account = try await store.createAccount(loginId: "ivan", username: "Ivan", passwordHash: "x", createdAt: Date())

        let reopened = try SQLiteAccountStore(dataDirectory: directory)
        #expect(try await reopened.account(id: account.id) == account)
        #expect(try await reopened.appliedMigrations().count == 2)
        await #expect(throws: AccountStoreError.duplicateLoginId) {
            try await reopened.createAccount(loginId: "IVAN", username: "Other", passwordHash: "y", createdAt: Date())
        }
        // The schema has the unique index (checked independently of the store).
        let queue = try DatabaseQueue(path: directory + "/accounts.sqlite")
        let indexes = try await queue.read { db in try db.indexes(on: "account") }
        #expect(indexes.contains { $0.name == "account_login_id" && $0.isUnique })
    }

    @Test("rotation state machine: active → rotated; reuse revokes the account; revoked stays revoked")
    func rotation() async throws {
        let directory = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteAccountStore(dataDirectory: directory)
        let account = try await store.createAccount(loginId: "judy", username: "J", passwordHash: "x", createdAt: Date())
        func record(_ name: String, expires: TimeInterval = 3600) -> RefreshTokenRecord {
            RefreshTokenRecord(
                tokenHash: Data(name.utf8), tokenID: name, accountId: account.id, familyId: "f1",
                issuedAt: Date(), expiresAt: Date(timeIntervalSinceNow: expires))
        }
        try await store.insertRefreshToken(record("t1"))
        try await store.insertRefreshToken(RefreshTokenRecord(
            tokenHash: Data("other".utf8), tokenID: "other", accountId: account.id, familyId: "f2",
            issuedAt: Date(), expiresAt: Date(timeIntervalSinceNow: 3600)))
        #expect(try await store.rotateRefreshToken(presentedHash: Data("t1".utf8), replacement: record("t2"), now: Date())
            == .rotated(accountId: account.id))
        #expect(try await store.refreshTokenStatus(tokenHash: Data("t1".utf8)) == .rotated)
        #expect(try await store.refreshTokenStatus(tokenHash: Data("t2".utf8)) == .active)
        let reuse = try await store.rotateRefreshToken(presentedHash: Data("t1".utf8), replacement: record("t3"), now: Date())
        #expect(reuse == .reuseDetected(accountId: account.id, revokedCount: 3))
        #expect(try await store.refreshTokenStatus(tokenHash: Data("other".utf8)) == .revoked, "other families too")
        #expect(try await store.rotateRefreshToken(presentedHash: Data("t2".utf8), replacement: record("t4"), now: Date()) == .revoked)
        #expect(try await store.rotateRefreshToken(presentedHash: Data("zz".utf8), replacement: record("t5"), now: Date()) == .unknown)
        try await store.insertRefreshToken(record("stale", expires: -10))
        #expect(try await store.rotateRefreshToken(presentedHash: Data("stale".utf8), replacement: record("t6"), now: Date()) == .revoked)
        #expect(try await store.deleteAccount(accountId: account.id))
        #expect(try await store.refreshTokenStatus(tokenHash: Data("t2".utf8)) == nil, "cascade delete")
    }

    @Test("bcrypt: Spring $2a$10$ hash, $2y$ and $2b$ verify; default cost is 10")
    func bcrypt() async throws {
        let hasher = PasswordHasher(cost: 4)
        // Spring Security's documented BCryptPasswordEncoder example for "password".
        let spring = "$2a$10$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG"
        #expect(try await hasher.verify("password", against: spring))
        #expect(try await !hasher.verify("Password", against: spring))
        #expect(try await hasher.verify("password", against: "$2y$" + spring.dropFirst(4)))
        #expect(try await hasher.verify("password", against: "$2b$" + spring.dropFirst(4)))
        #expect(try await !hasher.verify("password", against: "$2x$" + spring.dropFirst(4)))
        #expect(try await !hasher.verify("password", against: "plain"))

        let defaultHasher = PasswordHasher()
        #expect(defaultHasher.cost == 10)
        let hash = try await defaultHasher.hash("s3cret-pass")
        #expect(hash.hasPrefix("$2b$10$"))
        #expect(try await hasher.verify("s3cret-pass", against: hash))
    }

    @Test("throttle: locks after the limit, unlocks after the lockout, success resets")
    func throttle() async {
        let throttle = LoginThrottle(configuration: .init(maximumFailures: 2, lockout: .seconds(30)))
        let start = Date(timeIntervalSince1970: 1_000_000)
        await throttle.recordFailure(loginId: "kim", now: start)
        #expect(await throttle.retryAfter(loginId: "kim", now: start) == nil)
        await throttle.recordFailure(loginId: "Kim", now: start)
        #expect(await throttle.retryAfter(loginId: "KIM", now: start.addingTimeInterval(1)) == 29)
        #expect(await throttle.retryAfter(loginId: "kim", now: start.addingTimeInterval(31)) == nil)
        await throttle.recordFailure(loginId: "kim", now: start.addingTimeInterval(32))
        #expect(await throttle.retryAfter(loginId: "kim", now: start.addingTimeInterval(33)) == 29, "one more failure relocks")
        await throttle.recordSuccess(loginId: "kim")
        #expect(await throttle.retryAfter(loginId: "kim", now: start.addingTimeInterval(33)) == nil)
    }
}
