import Foundation
import ParleyAccounts
import ParleyAuth
import Testing

@Suite("Account API flow (real HTTP, real SQLite)", .timeLimit(.minutes(1)))
struct FlowTests {
    @Test("signup → login → me → refresh → reuse detection → logout")
    func wholeFlow() async throws {
        try await withServer { server in
            let signup = try await server.signup("alice", username: "Alice A.")
            #expect(signup.status == 201)
            #expect(signup.json["loginId"] as? String == "alice")
            #expect(signup.json["username"] as? String == "Alice A.")
            #expect(signup.json["id"] is NSNumber)
            #expect(signup.json["createdAt"] is String)
            #expect(Set(signup.json.keys) == ["id", "loginId", "username", "createdAt"], "never the hash")

            let login = try await server.request("POST", "/auth/login", json: ["loginId": "alice", "password": "passw0rd!"])
            #expect(login.status == 200)
            #expect(login.json["msg"] is String)
            let (access, refresh) = try await server.login("alice")
            let me = try await server.request("GET", "/accounts/me", bearer: access)
            #expect(me.status == 200)
            #expect(me.json["loginId"] as? String == "alice")
            #expect(me.json["id"] as? Int == signup.json["id"] as? Int)

            // Rotation: the refresh gives a new pair and retires the old refresh token.
            let refreshed = try await server.request("POST", "/auth/token/refresh", json: ["refreshToken": refresh])
            #expect(refreshed.status == 200)
            #expect(refreshed.json["msg"] is String)
            let tokens = try #require(refreshed.json["tokenResponse"] as? [String: Any])
            let newAccess = try #require(tokens["accessToken"] as? String)
            let newRefresh = try #require(tokens["refreshToken"] as? String)
            #expect(newRefresh != refresh)
            #expect(try await server.request("GET", "/accounts/me", bearer: newAccess).status == 200)

            // Reuse of the rotated token revokes every refresh token of the account, including the new one.
            let reuse = try await server.request("POST", "/auth/token/refresh", json: ["refreshToken": refresh])
            #expect(reuse.status == 401)
            #expect(reuse.errorCode == "refresh_token_reused")
            let afterReuse = try await server.request("POST", "/auth/token/refresh", json: ["refreshToken": newRefresh])
            #expect(afterReuse.status == 401)
            #expect(afterReuse.errorCode == "refresh_token_revoked")

            // A fresh login works again; logout revokes its refresh token.
            let (access2, refresh2) = try await server.login("alice")
            let logout = try await server.request("POST", "/auth/logout", bearer: access2)
            #expect(logout.status == 204)
            let afterLogout = try await server.request("POST", "/auth/token/refresh", json: ["refreshToken": refresh2])
            #expect(afterLogout.status == 401)
            #expect(afterLogout.errorCode == "refresh_token_revoked")
        }
    }

    @Test("refresh tokens are stored only as SHA-256 hashes")
    func refreshTokensHashed() async throws {
        try await withServer { server in
            _ = try await server.signup("hashcheck")
            let (_, refresh) = try await server.login("hashcheck")
            let hash = Data(SHA256Digest.of(refresh))
            #expect(try await server.server.store.refreshTokenStatus(tokenHash: hash) == .active)
            for name in try FileManager.default.contentsOfDirectory(atPath: server.directory) {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: server.directory + "/" + name))
                #expect(bytes.range(of: Data(refresh.utf8)) == nil, "raw refresh token found in \(name)")
                #expect(bytes.range(of: Data(refresh.split(separator: ".")[2].utf8)) == nil)
            }
        }
    }

    @Test("profile: PATCH username, PUT password (revokes refresh tokens), DELETE")
    func profile() async throws {
        try await withServer { server in
            _ = try await server.signup("bob")
            let (access, refresh) = try await server.login("bob")

            let patched = try await server.request("PATCH", "/accounts/me", json: ["username": "  Bobby  "], bearer: access)
            #expect(patched.status == 200)
            #expect(patched.json["username"] as? String == "Bobby")
            let badPatch = try await server.request("PATCH", "/accounts/me", json: ["username": ""], bearer: access)
            #expect(badPatch.status == 400)
            #expect(badPatch.json["field"] as? String == "username")

            let wrongOld = try await server.request(
                "PUT", "/accounts/me/password", json: ["oldPassword": "nope12345", "newPassword": "n3wpassword"], bearer: access)
            #expect(wrongOld.status == 403)
            #expect(wrongOld.errorCode == "wrong_password")
            let weakNew = try await server.request(
                "PUT", "/accounts/me/password", json: ["oldPassword": "passw0rd!", "newPassword": "short"], bearer: access)
            #expect(weakNew.status == 400)
            #expect(weakNew.json["field"] as? String == "newPassword")
            let changed = try await server.request(
                "PUT", "/accounts/me/password", json: ["oldPassword": "passw0rd!", "newPassword": "n3wpassword"], bearer: access)
            #expect(changed.status == 204)
            let oldRefresh = try await server.request("POST", "/auth/token/refresh", json: ["refreshToken": refresh])
            #expect(oldRefresh.status == 401)
            #expect(oldRefresh.errorCode == "refresh_token_revoked")
            let oldLogin = try await server.request("POST", "/auth/login", json: ["loginId": "bob", "password": "passw0rd!"])
            #expect(oldLogin.status == 401)
            let (access2, _) = try await server.login("bob", password: "n3wpassword")

            #expect(try await server.request("DELETE", "/accounts/me", bearer: access2).status == 204)
            let gone = try await server.request("GET", "/accounts/me", bearer: access2)
            #expect(gone.status == 401)
            #expect(gone.errorCode == "account_not_found")
            #expect(try await server.request("POST", "/auth/login", json: ["loginId": "bob", "password": "n3wpassword"]).status == 401)
            #expect(try await server.signup("bob").status == 201, "a deleted loginId can be taken again")
        }
    }

    @Test("50 parallel signups with one loginId: exactly one 201")
    func parallelSignups() async throws {
        try await withServer { server in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<50 {
                    group.addTask { try await server.signup("racer", password: "passw0rd\(index)").status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 201 }.count == 1)
            #expect(statuses.filter { $0 == 409 }.count == 49)
        }
    }
}

/// SHA-256 of a token's UTF-8 bytes, as the store keys refresh tokens.
enum SHA256Digest {
    static func of(_ token: String) -> [UInt8] {
        Array(Crypto.SHA256.hash(data: Array(token.utf8)))
    }
}

import Crypto
