import Foundation
import GRDB
import ParleyAccounts
import Testing

/// `/health` and `/ready` on the account API, over real sockets.
@Suite struct HealthEndpointTests {
    @Test func healthIsUpAndReadyChecksTheDatabase() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let health = try await server.request("GET", "/health")
        #expect(health.status == 200 && health.json["status"] as? String == "up")
        let ready = try await server.request("GET", "/ready")
        #expect(ready.status == 200)
        #expect(ready.json["status"] as? String == "ready")
        #expect(ready.json["checks"] as? [String: String] == ["database": "ready"])
        #expect(ready.header("Cache-Control") == "no-store")
    }

    @Test func readyIs503NamingTheDatabaseWhenItCannotBeQueried() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        #expect(try await server.request("GET", "/ready").status == 200)
        // Another connection removes the tables: the store can no longer answer its readiness query.
        let other = try DatabaseQueue(path: server.directory + "/" + SQLiteAccountStore.defaultFileName)
        try await other.write { db in
            try db.execute(sql: "DROP TABLE refresh_token; DROP TABLE account")
        }
        try other.close()
        let ready = try await server.request("GET", "/ready")
        #expect(ready.status == 503)
        #expect(ready.json["status"] as? String == "not ready")
        #expect(ready.json["notReady"] as? [String] == ["database"])
        let reason = (ready.json["checks"] as? [String: String])?["database"] ?? ""
        #expect(reason.hasPrefix("database not reachable: SQLite error 1") && reason.contains("no such table: account"), "\(reason)")
        #expect(try await server.request("GET", "/health").status == 200, "liveness does not follow the database")
    }
}
